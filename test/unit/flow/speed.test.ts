/** Offline speed change against torch's `F.interpolate(mode='linear')` and the frame-count rule `int(T / speed)`. */
import { describe, expect, it } from 'vitest';

import { changeSpeed, speedFrames } from '../../../src/models/flow/speed.ts';
import { maxAbsDiff } from '../../helpers/npz.ts';

/**
 * Computed once with torch 2.13:
 * .venv/bin/python -c "import torch, torch.nn.functional as F; torch.manual_seed(0); x = torch.randn(1, 2, 7)
 * for s in [1.3, 0.7, 2.0]: print(s, F.interpolate(x, size=int(7 / s), mode='linear')[0].tolist())
 * print(x[0].tolist())"
 */
const INPUT = [
  [
    1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991, -1.0845223665237427,
    -1.3985954523086548, 0.40334683656692505,
  ],
  [
    0.8380263447761536, -0.7192575931549072, -0.40334352850914, -0.5966353416442871, 0.18203648924827576,
    -0.8566746115684509, 1.1006041765213013,
  ],
];
const EXPECTED: ReadonlyArray<[number, number[][]]> = [
  [
    1.3,
    [
      [1.1741111278533936, -1.424644947052002, 0.5684312582015991, -1.2101515531539917, 0.042957853525877],
      [0.5265696048736572, -0.5297091603279114, -0.5966353416442871, -0.2334480583667755, 0.7091478705406189],
    ],
  ],
  [
    0.7,
    [
      [
        1.5409960746765137, 0.5320624113082886, -0.7647690176963806, -2.0845212936401367, -0.39309635758399963,
        -0.010102360509335995, -1.1002259254455566, -1.3200771808624268, -0.5877217650413513, 0.40334683656692505,
      ],
      [
        0.8380263447761536, -0.01847975142300129, -0.6402790546417236, -0.4191392660140991, -0.5289831757545471,
        -0.3241002857685089, 0.13010123372077942, -0.5969968438148499, 0.02410048246383667, 1.1006041765213013,
      ],
    ],
  ],
  [
    2.0,
    [
      [0.3180461525917053, 0.5684312582015991, -0.7979485988616943],
      [-0.2001628875732422, -0.5966353416442871, -0.20424896478652954],
    ],
  ],
];

describe('changeSpeed', () => {
  const mel = { bins: 2, frames: 7, data: Float32Array.from(INPUT.flat()) };

  it.each(EXPECTED)('speed %f equals F.interpolate(size=int(T/speed), mode=linear)', (speed, expected) => {
    const out = changeSpeed(mel, speed);
    expect(out.frames).toBe(expected[0]?.length);
    expect(maxAbsDiff(out.data, Float32Array.from(expected.flat()))).toBe(0);
  });

  it('speed 1 is the identity; frame counts truncate; bad speeds are rejected', () => {
    expect(changeSpeed(mel, 1)).toBe(mel);
    expect(speedFrames(100, 1.1)).toBe(90);
    expect(speedFrames(7, 0.7)).toBe(10);
    expect(() => changeSpeed(mel, 0)).toThrow(/positive finite/);
    expect(() => changeSpeed(mel, 8)).toThrow(/leaves no mel frame/);
  });
});
