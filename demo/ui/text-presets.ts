/** Example texts per language, instruct presets and the fine-grained tags CosyVoice 2 understands (spec §2.2). */

export const EXAMPLES: Readonly<Record<string, string>> = {
  zh: '收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐。',
  en: 'The quick brown fox jumps over the lazy dog, and then it takes a well-earned nap in the afternoon sun.',
  ja: '今日はとても良い天気ですね。一緒に公園へ散歩に行きませんか。',
  ko: '오늘은 날씨가 정말 좋네요. 같이 공원에 산책하러 갈까요?',
  mixed: '我最近在学习 machine learning，感觉 really interesting，每天都有新的收获。',
};

/** Instructions by kind (emotion, dialect, speed, role-play); CosyVoice 2 was trained with Chinese instructions. */
export const INSTRUCT_PRESETS: readonly { readonly label: string; readonly text: string }[] = [
  { label: 'Happy', text: '用开心的语气说这句话' },
  { label: 'Sad', text: '用伤心的语气说这句话' },
  { label: 'Sichuanese', text: '用四川话说这句话' },
  { label: 'Cantonese', text: '用粤语说这句话' },
  { label: 'Faster', text: '用快速的语速说这句话' },
  { label: 'Slower', text: '用缓慢的语速说这句话' },
  { label: 'Storyteller', text: '像讲故事一样说这句话' },
];

/** Tags inserted at the cursor; a pair wraps the selection. */
export const TAGS: readonly { readonly label: string; readonly open: string; readonly close?: string }[] = [
  { label: '[laughter]', open: '[laughter]' },
  { label: '[breath]', open: '[breath]' },
  { label: '<strong>…</strong>', open: '<strong>', close: '</strong>' },
  { label: '<laughter>…</laughter>', open: '<laughter>', close: '</laughter>' },
];

/** Inserts a tag at the text box's cursor (wrapping the selection for a pair) and keeps the focus there. */
export function insertTag(box: HTMLTextAreaElement, tag: (typeof TAGS)[number]): void {
  const { selectionStart: start, selectionEnd: end, value } = box;
  const inner = value.slice(start, end);
  const inserted = tag.open + inner + (tag.close ?? '');
  box.setRangeText(inserted, start, end, 'end');
  if (tag.close !== undefined && inner === '') box.setSelectionRange(start + tag.open.length, start + tag.open.length);
  box.focus();
}
