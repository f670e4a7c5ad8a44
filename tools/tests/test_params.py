"""The official module trees have exactly the published parameter counts (spec §7.2)."""

from tools.reference import params
from tools.reference.config import official_config


def test_official_parameter_counts() -> None:
    assert params.counts(official_config()) == {
        "llm": 505_803_812,
        "flow": 112_549_360,
        "flow.decoder.estimator": 71_302_480,
        "hift": 20_821_295,
    }


def test_cli_prints_the_counts(capsys) -> None:  # type: ignore[no-untyped-def]
    assert params.main() == 0
    out = capsys.readouterr().out
    assert "505 803 812" in out and "112 549 360" in out and "71 302 480" in out and "20 821 295" in out
    assert "639 174 467" in out
