"""torchaudio half of the DSP goldens (run by tools/goldens/dsp.py, not by hand).

Runs under Debian's ``/usr/bin/python3`` (torch 1.13, torchaudio 0.13.1: ``apt-get install python3-torchaudio``),
because torchaudio is not in the wheel mirror. Usage::

    /usr/bin/python3 tools/goldens/dsp_torchaudio.py WORKDIR

WORKDIR/jobs.json is a list of jobs; every input and output is raw little-endian float32 in WORKDIR:

* ``{"op": "resample", "in": "x.f32", "out": "y.f32", "orig": 24000, "new": 16000, "variant": V}`` with V one of
  ``functional32`` (``torchaudio.functional.resample`` on float32, the default reference), ``functional64`` (the same
  on float64, i.e. the exact algorithm) or ``transform32`` (``torchaudio.transforms.Resample`` on float32, what
  CosyVoice's ``load_wav`` runs);
* ``{"op": "fbank", "in": "x.f32", "out": "y.f32", "cmn": true}``: ``torchaudio.compliance.kaldi.fbank(x,
  num_mel_bins=80, dither=0.0, sample_frequency=16000)`` on float32 (or float64 with ``"float64": true``),
  optionally minus its per-bin mean (CMN).

Writes WORKDIR/versions.json with the library versions.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi


def main(workdir: Path) -> None:
    torch.set_num_threads(1)
    jobs = json.loads((workdir / "jobs.json").read_text())
    for job in jobs:
        x = np.fromfile(workdir / job["in"], dtype="<f4")
        if job["op"] == "resample":
            variant = job["variant"]
            if variant == "functional32":
                y = torchaudio.functional.resample(torch.from_numpy(x)[None], job["orig"], job["new"])
            elif variant == "functional64":
                x64 = torch.from_numpy(x.astype(np.float64))[None]
                y = torchaudio.functional.resample(x64, job["orig"], job["new"])
            elif variant == "transform32":
                y = torchaudio.transforms.Resample(job["orig"], job["new"])(torch.from_numpy(x)[None])
            else:
                raise ValueError(f"unknown resample variant {variant}")
            out = y[0].numpy()
        elif job["op"] == "fbank":
            wave = torch.from_numpy(x.astype(np.float64) if job.get("float64", False) else x)[None]
            feat = kaldi.fbank(wave, num_mel_bins=80, dither=0.0, sample_frequency=16000)
            if job.get("cmn", False):
                feat = feat - feat.mean(dim=0, keepdim=True)
            out = feat.numpy()
        else:
            raise ValueError(f"unknown op {job['op']}")
        np.ascontiguousarray(out, dtype="<f4").tofile(workdir / job["out"])
    versions = {"python": sys.version.split()[0], "torch": torch.__version__, "torchaudio": torchaudio.__version__,
                "numpy": np.__version__}
    (workdir / "versions.json").write_text(json.dumps(versions))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
