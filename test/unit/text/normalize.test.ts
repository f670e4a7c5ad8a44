/**
 * Normalisation tables: Chinese number reading (wetext-zh stand-in), English (wetext-en + inflect stand-in), inflect's
 * number_to_words, and the whole upstream text_normalize pipeline (§2.1 cleanup rules, bypass, segment filter).
 *
 * Every expected value was written down as a person would read it aloud and checked against the rules documented in
 * src/text/normalize-zh.ts / normalize-en.ts (the deliberate differences from wetext are listed there).
 */
import { beforeAll, describe, expect, it } from 'vitest';

import {
  bypassesFrontend,
  containsChinese,
  isOnlyPunctuation,
  normalizePromptText,
  normalizeText,
  removeBracket,
  replaceBlank,
  replaceCornerMark,
} from '../../../src/text/normalize.ts';
import { normalizeEnglish, yearToWords } from '../../../src/text/normalize-en.ts';
import {
  normalizeChinese,
  readChineseDigits,
  readChineseInteger,
  readChineseNumber,
} from '../../../src/text/normalize-zh.ts';
import { numberToWords, ordinalToWords, readDigits, spellOutNumbers } from '../../../src/text/number-words.ts';
import type { CosyVoiceTokenizer } from '../../../src/text/tokenizer.ts';
import { cosyVoiceTokenizer } from './qwen.ts';

/** Chinese: integers, 两, decimals, percentages, fractions, dates, times, money, phones, units, ordinals, ranges… */
const ZH_CASES: readonly (readonly [string, string])[] = [
  ['0', '零'],
  ['7', '七'],
  ['10', '十'],
  ['12', '十二'],
  ['20', '二十'],
  ['100', '一百'],
  ['101', '一百零一'],
  ['110', '一百一十'],
  ['1000', '一千'],
  ['1001', '一千零一'],
  ['1010', '一千零一十'],
  ['1100', '一千一百'],
  ['10000', '一万'],
  ['10001', '一万零一'],
  ['100010', '十万零一十'],
  ['123456789', '一亿二千三百四十五万六千七百八十九'],
  ['100000000', '一亿'],
  ['1000000000000', '一万亿'],
  ['2', '二'],
  ['200', '两百'],
  ['2000', '两千'],
  ['20000', '两万'],
  ['22000', '两万二千'],
  ['200000000', '两亿'],
  ['1,234,567', '一百二十三万四千五百六十七'],
  ['3.14', '三点一四'],
  ['0.5', '零点五'],
  ['12.05', '十二点零五'],
  ['1.5亿', '一点五亿'],
  ['2.5万', '二点五万'],
  ['50%', '百分之五十'],
  ['12.5%', '百分之十二点五'],
  ['100%', '百分之一百'],
  ['0.1%', '百分之零点一'],
  ['-3%', '负百分之三'],
  ['10%-20%', '百分之十到百分之二十'],
  ['3‰', '千分之三'],
  ['3/4', '四分之三'],
  ['1/2', '二分之一'],
  ['10/100', '一百分之十'],
  ['1又1/2', '一又二分之一'],
  ['2024年3月5日', '二零二四年三月五日'],
  ['2024年12月31日', '二零二四年十二月三十一日'],
  ['1999年', '一九九九年'],
  ['2024-03-05', '二零二四年三月五日'],
  ['2024/3/5', '二零二四年三月五日'],
  ['2024.3.5', '二零二四年三月五日'],
  ['3月5日', '三月五日'],
  ['3月5号', '三月五号'],
  ['12月', '十二月'],
  ['2月', '二月'],
  ['2024-12', '二零二四年十二月'],
  ['14:30', '十四点三十分'],
  ['8:05', '八点零五分'],
  ['8:00', '八点'],
  ['2:15', '两点十五分'],
  ['23:59:59', '二十三点五十九分五十九秒'],
  ['0:00', '零点'],
  ['3:2', '三比二'],
  ['比分10:8', '比分十比八'],
  ['¥100', '一百元'],
  ['￥3.50', '三元五角'],
  ['¥12.05', '十二元零五分'],
  ['¥0.5', '五角'],
  ['¥2', '两元'],
  ['¥1.5万', '一点五万元'],
  ['$100', '一百美元'],
  ['$3.50', '三点五美元'],
  ['$1,000,000', '一百万美元'],
  ['€20', '二十欧元'],
  ['£5.99', '五点九九英镑'],
  ['HK$10', '十港元'],
  ['USD 100', '一百美元'],
  ['13812345678', '幺三八幺二三四五六七八'],
  ['+86 138 1234 5678', '加八六幺三八幺二三四五六七八'],
  ['010-12345678', '零幺零幺二三四五六七八'],
  ['0755-1234567', '零七五五幺二三四五六七'],
  ['400-123-4567', '四零零幺二三四五六七'],
  ['5kg', '五千克'],
  ['100m', '一百米'],
  ['3cm', '三厘米'],
  ['10km', '十千米'],
  ['25℃', '二十五摄氏度'],
  ['25°C', '二十五摄氏度'],
  ['-5℃', '零下五摄氏度'],
  ['98.6°F', '九十八点六华氏度'],
  ['90°', '九十度'],
  ['100km/h', '一百千米每小时'],
  ['5m/s', '五米每秒'],
  ['2L', '两升'],
  ['500ml', '五百毫升'],
  ['3.5GB', '三点五吉字节'],
  ['2.4GHz', '二点四吉赫兹'],
  ['100W', '一百瓦'],
  ['5000mAh', '五千毫安时'],
  ['60m²', '六十平方米'],
  ['100㎡', '一百平方米'],
  ['3m³', '三立方米'],
  ['2h', '两小时'],
  ['30min', '三十分钟'],
  ['10s', '十秒'],
  ['3t', '三吨'],
  ['第1', '第一'],
  ['第2名', '第二名'],
  ['第21名', '第二十一名'],
  ['第200名', '第二百名'],
  ['第100章', '第一百章'],
  ['3-5天', '三到五天'],
  ['10~20人', '十到二十人'],
  ['5-10kg', '五到十千克'],
  ['20-25°C', '二十到二十五摄氏度'],
  ['1998-2000年', '一九九八到二零零零年'],
  ['1+1=2', '一加一等于二'],
  ['5-3=2', '五减三等于二'],
  ['3×4', '三乘四'],
  ['10÷2', '十除以二'],
  ['2*3=6', '二乘三等于六'],
  ['-5', '负五'],
  ['-3.5', '负三点五'],
  ['温度-10', '温度负十'],
  ['2个', '两个'],
  ['2本', '两本'],
  ['2小时', '两小时'],
  ['2岁', '两岁'],
  ['2年', '两年'],
  ['2年级', '二年级'],
  ['2楼', '二楼'],
  ['2号', '二号'],
  ['2万', '两万'],
  ['2千', '两千'],
  ['2.5个', '二点五个'],
  ['007', '零零七'],
  ['0086', '零零八六'],
  ['123456789012345678', '一二三四五六七八九零一二三四五六七八'],
  ['版本1.2.3发布', '版本一点二点三发布'],
  ['iPhone 15', 'iPhone 十五'],
  ['MP3', 'MP三'],
  ['5G', '五G'],
  ['A4纸', 'A四纸'],
  ['COVID-19', 'COVID-十九'],
  ['１２３', '一百二十三'],
  ['１２：３０', '十二点三十分'],
  ['５０％', '百分之五十'],
  ['没有数字的句子。', '没有数字的句子。'],
  ['[laughter]哈哈', '[laughter]哈哈'],
  ['他是No.1', '他是第一'],
  ['第1、2、3名', '第一、二、三名'],
  [
    '2024年3月5日下午3:30，气温-5℃，涨了12.5%。',
    '二零二四年三月五日下午三点三十分，气温零下五摄氏度，涨了百分之十二点五。',
  ],
  ['我买了2个苹果和3本书，花了¥12.50，约$3.5。', '我买了两个苹果和三本书，花了十二元五角，约三点五美元。'],
  ['会议定于2024年3月5日14:00在3楼举行，预计2小时。', '会议定于二零二四年三月五日十四点在三楼举行，预计两小时。'],
  ['全长1,234.5km，时速100km/h。', '全长一千二百三十四点五千米，时速一百千米每小时。'],
];

/** English: cardinals, decimals, money, ordinals, years, decades, dates, times, phones, percentages, units, … */
const EN_CASES: readonly (readonly [string, string])[] = [
  ['1,000', 'one thousand'],
  ['1,234,567', 'one million, two hundred and thirty-four thousand, five hundred and sixty-seven'],
  ['3.14', 'three point one four'],
  ['0.5', 'zero point five'],
  ['0.05', 'zero point zero five'],
  ['10.50', 'ten point five zero'],
  ['-5', 'minus five'],
  ['-3.5', 'minus three point five'],
  ['007', 'zero zero seven'],
  ['02134', 'zero two one three four'],
  ['$5', 'five dollars'],
  ['$1', 'one dollar'],
  ['$0.99', 'ninety-nine cents'],
  ['$0.01', 'one cent'],
  ['$1.01', 'one dollar and one cent'],
  ['$12.50', 'twelve dollars and fifty cents'],
  ['$5.5', 'five dollars and fifty cents'],
  ['$1,000', 'one thousand dollars'],
  ['$2.5 million', 'two point five million dollars'],
  ['$3B', 'three billion dollars'],
  ['$5k', 'five thousand dollars'],
  ['-$5', 'minus five dollars'],
  ['€20', 'twenty euros'],
  ['€1.50', 'one euro and fifty cents'],
  ['£3', 'three pounds'],
  ['£2.50', 'two pounds and fifty pence'],
  ['¥100', 'one hundred yen'],
  ['₹500', 'five hundred rupees'],
  ['100 USD', 'one hundred US dollars'],
  ['USD 20', 'twenty US dollars'],
  ['1st', 'first'],
  ['2nd', 'second'],
  ['3rd', 'third'],
  ['4th', 'fourth'],
  ['11th', 'eleventh'],
  ['12th', 'twelfth'],
  ['21st', 'twenty-first'],
  ['22nd', 'twenty-second'],
  ['100th', 'one hundredth'],
  ['101st', 'one hundred and first'],
  ['1,000th', 'one thousandth'],
  ['in 1999', 'in nineteen ninety-nine'],
  ['In 1066', 'In ten sixty-six'],
  ['since 1985', 'since nineteen eighty-five'],
  ['by 2030', 'by two thousand and thirty'],
  ['in 1905', 'in nineteen oh five'],
  ['in 1900', 'in nineteen hundred'],
  ['in 2000', 'in two thousand'],
  ['in 2008', 'in two thousand and eight'],
  ['the 1990s', 'the nineteen nineties'],
  ['the 1900s', 'the nineteen hundreds'],
  ['the 2000s', 'the two thousands'],
  ['the 2020s', 'the twenty twenties'],
  ["the '90s", 'the nineties'],
  ['in their 20s', 'in their twenties'],
  ['from 1939 to 1945', 'from nineteen thirty-nine to nineteen forty-five'],
  ['1914-1918', 'nineteen fourteen to nineteen eighteen'],
  ['500 BC', 'five hundred B C'],
  ['1066 AD', 'ten sixty-six A D'],
  ['March 5', 'March fifth'],
  ['March 5, 2024', 'March fifth, two thousand and twenty-four'],
  ['Jan. 5th', 'January fifth'],
  ['Dec 25', 'December twenty-fifth'],
  ['5 June 1999', 'the fifth of June, nineteen ninety-nine'],
  ['1 January', 'the first of January'],
  ['July 2024', 'July two thousand and twenty-four'],
  ['2024-03-05', 'March fifth, two thousand and twenty-four'],
  ['12/25/2023', 'December twenty-fifth, two thousand and twenty-three'],
  ['3:30', 'three thirty'],
  ['10:05', 'ten oh five'],
  ['7:00', "seven o'clock"],
  ['12:00:30', "twelve o'clock and thirty seconds"],
  ['3pm', 'three PM'],
  ['5 a.m.', 'five AM.'],
  ['3:30 p.m.', 'three thirty PM.'],
  ['11:45 PM', 'eleven forty-five PM'],
  ['555-123-4567', 'five five five, one two three, four five six seven'],
  ['(555) 123-4567', 'five five five, one two three, four five six seven'],
  ['+1 555 123 4567', 'plus one, five five five, one two three, four five six seven'],
  ['50%', 'fifty percent'],
  ['3.5%', 'three point five percent'],
  ['100%', 'one hundred percent'],
  ['-2%', 'minus two percent'],
  ['10-20%', 'ten to twenty percent'],
  ['5 km', 'five kilometers'],
  ['1 km', 'one kilometer'],
  ['2.5 km', 'two point five kilometers'],
  ['10 m', 'ten meters'],
  ['3 cm', 'three centimeters'],
  ['5 kg', 'five kilograms'],
  ['1 kg', 'one kilogram'],
  ['2.5 lbs', 'two point five pounds'],
  ['1 lb', 'one pound'],
  ['12 oz', 'twelve ounces'],
  ['6 ft', 'six feet'],
  ['1 ft', 'one foot'],
  ['60 mph', 'sixty miles per hour'],
  ['100 km/h', 'one hundred kilometers per hour'],
  ['25°C', 'twenty-five degrees Celsius'],
  ['-5°C', 'minus five degrees Celsius'],
  ['98.6°F', 'ninety-eight point six degrees Fahrenheit'],
  ['90°', 'ninety degrees'],
  ['2 h', 'two hours'],
  ['30 min', 'thirty minutes'],
  ['500 ms', 'five hundred milliseconds'],
  ['16 GB', 'sixteen gigabytes'],
  ['3.5 GHz', 'three point five gigahertz'],
  ['100 W', 'one hundred watts'],
  ['1 L', 'one liter'],
  ['250 ml', 'two hundred and fifty milliliters'],
  ['5000 mAh', 'five thousand milliamp hours'],
  ['50 m²', 'fifty square meters'],
  ['1/2', 'one half'],
  ['3/4', 'three quarters'],
  ['1/4', 'one quarter'],
  ['2/3', 'two thirds'],
  ['1/3', 'one third'],
  ['5/8', 'five eighths'],
  ['1/10', 'one tenth'],
  ['3/100', 'three one hundredths'],
  ['2 1/2', 'two and one half'],
  ['Mr. Smith', 'Mister Smith'],
  ['Mrs. Jones', 'Missus Jones'],
  ['Ms. Lee', 'Miss Lee'],
  ['Dr. Who', 'Doctor Who'],
  ['Prof. X', 'Professor X'],
  ['St. Louis', 'Saint Louis'],
  ['Main St.', 'Main Street'],
  ['Mt. Everest', 'Mount Everest'],
  ['vs. them', 'versus them'],
  ['apples, etc. and pears', 'apples, et cetera and pears'],
  ['apples, etc.', 'apples, et cetera.'],
  ['e.g. this', 'for example this'],
  ['i.e. that', 'that is that'],
  ['Smith Jr. went home.', 'Smith Junior went home.'],
  ['Acme Inc. is big.', 'Acme Incorporated is big.'],
  ['the U.S. Army', 'the U S Army'],
  ['in the U.S.', 'in the U S.'],
  ['No. 5', 'Number 5'],
  ['#1 hit', 'number 1 hit'],
  ['2+2=4', '2 plus 2 equals 4'],
  ['5 - 3 = 2', '5 minus 3 equals 2'],
  ['3 x 4', '3 times 4'],
  ['10 ÷ 2', '10 divided by 2'],
  ['x²', 'x squared'],
  ['R&D', 'R and D'],
  ['rock & roll', 'rock and roll'],
  ['Pages 5-10', 'Pages five to ten'],
  ['version 2.0.1', 'version two dot zero dot one'],
  ['Python 3.12 is out.', 'Python three point one two is out.'],
  ['I have 3 cats.', 'I have 3 cats.'],
  ['No numbers here.', 'No numbers here.'],
  ['It took 1500 ms in 1999.', 'It took one thousand, five hundred milliseconds in nineteen ninety-nine.'],
  ['Meet me at 3:30 p.m. Then we leave.', 'Meet me at three thirty PM. Then we leave.'],
  [
    'Dr. Smith paid $12.50 on Jan. 5th, 1999.',
    'Doctor Smith paid twelve dollars and fifty cents on January fifth, nineteen ninety-nine.',
  ],
  [
    'The temperature dropped to -5°C in the 1990s.',
    'The temperature dropped to minus five degrees Celsius in the nineteen nineties.',
  ],
  [
    'It grew 12.5% to $3.2 billion in 2024.',
    'It grew twelve point five percent to three point two billion dollars in two thousand and twenty-four.',
  ],
];

/** Python inflect `engine().number_to_words(n)` with default arguments. */
const INFLECT_CASES: readonly (readonly [number | string, string])[] = [
  [0, 'zero'],
  [1, 'one'],
  [9, 'nine'],
  [10, 'ten'],
  [11, 'eleven'],
  [19, 'nineteen'],
  [20, 'twenty'],
  [21, 'twenty-one'],
  [99, 'ninety-nine'],
  [100, 'one hundred'],
  [101, 'one hundred and one'],
  [110, 'one hundred and ten'],
  [999, 'nine hundred and ninety-nine'],
  [1000, 'one thousand'],
  [1001, 'one thousand and one'],
  [1010, 'one thousand and ten'],
  [1100, 'one thousand, one hundred'],
  [1234, 'one thousand, two hundred and thirty-four'],
  [2025, 'two thousand and twenty-five'],
  [10000, 'ten thousand'],
  [12345, 'twelve thousand, three hundred and forty-five'],
  [100000, 'one hundred thousand'],
  [1000000, 'one million'],
  [1000001, 'one million and one'],
  [1000100, 'one million, one hundred'],
  [1234567, 'one million, two hundred and thirty-four thousand, five hundred and sixty-seven'],
  [1000000000, 'one billion'],
  ['3.14', 'three point one four'],
  ['0.5', 'zero point five'],
  ['.5', 'point five'],
  ['1.', 'one point'],
  ['10.05', 'ten point zero five'],
  ['-5', 'minus five'],
  ['+5', 'plus five'],
  ['1,000', 'one thousand'],
  ['007', 'seven'],
  ['1st', 'first'],
  ['12th', 'twelfth'],
  ['20th', 'twentieth'],
  ['21st', 'twenty-first'],
  ['100th', 'one hundredth'],
  ['111th', 'one hundred and eleventh'],
];

describe('numberToWords (inflect)', () => {
  it.each(INFLECT_CASES)('%s → %s', (input, expected) => {
    expect(numberToWords(input)).toBe(expected);
  });

  it('reads numbers beyond decillions digit by digit instead of failing', () => {
    expect(numberToWords(`1${'0'.repeat(36)}`)).toBe(`one ${Array(36).fill('zero').join(' ')}`);
    expect(numberToWords(`9${'9'.repeat(35)}`)).toMatch(/^nine hundred and ninety-nine decillion, /);
  });

  it('has ordinal and digit helpers', () => {
    expect(ordinalToWords(3)).toBe('third');
    expect(ordinalToWords(1000)).toBe('one thousandth');
    expect(readDigits('0070')).toBe('zero zero seven zero');
  });

  it('rejects empty and non-finite input', () => {
    expect(() => numberToWords('')).toThrow(/ERR_INVALID_INPUT/);
    expect(() => numberToWords(Number.NaN)).toThrow(/finite number/);
  });

  it('spells every digit run like upstream spell_out_number, quirks included', () => {
    expect(spellOutNumbers('I paid 1234 dollars in 2025 for 7 books.')).toBe(
      'I paid one thousand, two hundred and thirty-four dollars in two thousand and twenty-five for seven books.',
    );
    expect(spellOutNumbers('3.5')).toBe('three.five');
    expect(spellOutNumbers('1,000')).toBe('one,zero');
    expect(spellOutNumbers('no digits')).toBe('no digits');
  });
});

describe('Chinese number reading', () => {
  it.each(ZH_CASES)('%s → %s', (input, expected) => {
    expect(normalizeChinese(input)).toBe(expected);
  });

  it('exposes the integer, digit and number readers', () => {
    expect(readChineseInteger('2000', { liang: false })).toBe('二千');
    expect(readChineseInteger('2000')).toBe('两千');
    expect(readChineseInteger('0000')).toBe('零');
    expect(readChineseInteger('15000000')).toBe('一千五百万');
    expect(readChineseInteger('150000')).toBe('十五万');
    expect(readChineseInteger('10050000')).toBe('一千零五万');
    expect(readChineseInteger('100500')).toBe('十万零五百');
    expect(readChineseInteger('1000050000')).toBe('十亿零五万');
    expect(readChineseDigits('13800', true)).toBe('幺三八零零');
    expect(readChineseDigits('13800')).toBe('一三八零零');
    expect(readChineseNumber('1,234.50')).toBe('一千二百三十四点五零');
  });
});

describe('English normalisation', () => {
  it.each(EN_CASES)('%s → %s', (input, expected) => {
    expect(normalizeEnglish(input)).toBe(expected);
  });

  it('reads years', () => {
    expect(yearToWords('1999')).toBe('nineteen ninety-nine');
    expect(yearToWords('2025')).toBe('two thousand and twenty-five');
    expect(yearToWords('2150')).toBe('twenty-one fifty');
    expect(yearToWords('3000')).toBe('three thousand');
    expect(yearToWords('999')).toBe('nine hundred and ninety-nine');
  });
});

describe('upstream cleanup helpers', () => {
  it('detects Chinese like contains_chinese (U+4E00–U+9FFF only)', () => {
    expect(containsChinese('abc中')).toBe(true);
    expect(containsChinese('こんにちは')).toBe(false);
    expect(containsChinese('東京')).toBe(true);
    expect(containsChinese('한국어')).toBe(false);
    expect(containsChinese('𠀀')).toBe(false);
  });

  it('replace_blank keeps only spaces between two non-space ASCII characters', () => {
    expect(replaceBlank('Hello world 你好 abc def')).toBe('Hello world你好abc def');
    expect(replaceBlank('a  b')).toBe('ab');
    expect(replaceBlank('你 好')).toBe('你好');
    expect(replaceBlank(' ab')).toBe(' ab'); // Python text[-1] wrap-around at i = 0
    expect(replaceBlank('ab ')).toBe('ab');
  });

  it('replace_corner_mark, remove_bracket, is_only_punctuation, the <| |> bypass', () => {
    expect(replaceCornerMark('m²和m³')).toBe('m平方和m立方');
    expect(removeBracket('（注意）【重要】`代码`——结束')).toBe('注意重要代码 结束');
    expect(isOnlyPunctuation('')).toBe(true);
    expect(isOnlyPunctuation('……！“”')).toBe(true);
    expect(isOnlyPunctuation('$+<>=^`|~')).toBe(true);
    expect(isOnlyPunctuation('。a')).toBe(false);
    expect(isOnlyPunctuation(' 。')).toBe(false);
    expect(bypassesFrontend('用四川话说<|endofprompt|>')).toBe(true);
    expect(bypassesFrontend('a <| b')).toBe(false);
    expect(bypassesFrontend('|> then <|')).toBe(true);
  });
});

describe('normalizeText pipeline (text_normalize)', () => {
  let tok: CosyVoiceTokenizer;
  const opts = (): { countTokens: (t: string) => number } => ({ countTokens: (t) => tok.countTokens(t) });

  beforeAll(() => {
    tok = cosyVoiceTokenizer();
  });

  const PIPELINE_CASES: readonly (readonly [string, readonly string[]])[] = [
    ['我买了3个苹果，花了¥12.50。', ['我买了三个苹果，花了十二元五角。']],
    [
      'I paid 1234 dollars in 2025 for 7 books.',
      ['I paid one thousand, two hundred and thirty-four dollars in two thousand and twenty-five for seven books.'],
    ],
    ['你好 世界\n再见', ['你好世界再见。']],
    ['Hello world 你好 abc def', ['Hello world你好abc def。']],
    ['面积是x²', ['面积是x平方。']],
    ['他说.好的', ['他说。好的。']],
    ['中文abc - def', ['中文abc，def。']],
    ['（注意）【重要】`代码`——结束', ['注意重要代码 结束。']],
    ['你好，，、', ['你好。']],
    ['你好,', ['你好。']],
    ['……！', []],
    ['“”', []],
    ['', []],
    ['   \n\t', []],
    ['\u3000你好\u3000', ['你好。']],
    ['\u001c你好\u0085', ['你好。']], // Python str.strip() whitespace
    ['\ufeff你好', ['\ufeff你好。']], // …which does not include the BOM
    ['Hello [laughter] I have 2 cats', ['Hello [laughter] I have two cats.']],
    ['他笑了[laughter]3次', ['他笑了[laughter]三次。']],
    ['[breath]2个人<strong>很好</strong>', ['[breath]两个人<strong>很好</strong>。']],
    ['東京タワーは333メートルです', ['東京タワーは三百三十三メートルです。']],
    ['나는 3개', ['나는 three개.']],
    ['He said "Stop." Then he left', ['He said "Stop." Then he left.']],
    ['他说：“你好。”然后走了', ['他说：“你好。”然后走了。']],
    ['Version 2.0.1 ships today', ['Version two dot zero dot one ships today.']],
  ];

  it.each(PIPELINE_CASES)('%j → %j', (input, expected) => {
    expect(normalizeText(input, opts())).toEqual(expected);
  });

  it('passes instruct text and <|…|> markup through untouched (no TN, no split, no strip)', () => {
    const instruct = ' 用四川话说这句话<|endofprompt|>今天3个. ';
    expect(normalizeText(instruct, opts())).toEqual([instruct]);
    expect(normalizePromptText(instruct, opts())).toBe(instruct);
    expect(normalizePromptText('You are a helpful assistant.<|endofprompt|>', opts())).toBe(
      'You are a helpful assistant.<|endofprompt|>',
    );
  });

  it('honours textFrontend: false and readNumbers: false', () => {
    expect(normalizeText(' 3个 ', { ...opts(), textFrontend: false })).toEqual([' 3个 ']);
    expect(normalizeText('我有3个苹果', { ...opts(), readNumbers: false })).toEqual(['我有3个苹果。']);
    expect(normalizeText('1234 apples on 3/4', { ...opts(), readNumbers: false })).toEqual([
      'one thousand, two hundred and thirty-four apples on three/four.',
    ]);
  });

  it('normalises prompt text without splitting (split=False joins the segments)', () => {
    expect(normalizePromptText('希望你以后能够做的比我还好呦。', opts())).toBe('希望你以后能够做的比我还好呦。');
    expect(normalizePromptText('Hi there. How are you?', opts())).toBe('Hi there. How are you?');
    expect(normalizePromptText('今天是2024年3月5日', opts())).toBe('今天是二零二四年三月五日。');
    expect(normalizePromptText('', opts())).toBe('');
  });

  it('splits long Chinese text into 60–80 character segments', () => {
    const sentence = '收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐。';
    const text = sentence.repeat(6);
    const segments = normalizeText(text, opts());
    expect(segments.join('')).toBe(text);
    expect(segments.length).toBeGreaterThan(1);
    for (const s of segments) expect(Array.from(s).length).toBeLessThanOrEqual(80 + sentence.length);
  });

  it('splits long English text by Qwen token counts', () => {
    const text = Array.from({ length: 12 }, (_, i) => `This is sentence number ${i + 1} of a long paragraph.`).join(
      ' ',
    );
    const segments = normalizeText(text, opts());
    expect(segments.length).toBeGreaterThan(1);
    for (const s of segments.slice(0, -1)) {
      expect(tok.countTokens(s)).toBeGreaterThan(60);
      expect(tok.countTokens(s)).toBeLessThanOrEqual(80);
    }
    expect(segments.join('')).toContain('sentence number twelve of a long paragraph.');
  });

  it('rejects bad input with ERR_INVALID_INPUT', () => {
    expect(() => normalizeText(5 as unknown as string, opts())).toThrow(/ERR_INVALID_INPUT: text must be a string/);
    expect(() => normalizeText('x', {} as { countTokens: (t: string) => number })).toThrow(/needs options.countTokens/);
  });
});
