"""The access chapter of ``finprivacy demo`` tells its story and leaks nothing."""

from __future__ import annotations

from pathlib import Path

from finprivacy.cli._demo_access import chapter


def test_access_demo_chapter(tmp_path: Path) -> None:
    lines: list[str] = []
    chapter(tmp_path, lines.append)
    text = "\n".join(lines)
    assert "card 622202*********3445" in text          # BIN + last 4 for the accountant
    assert "refused (purpose_not_allowed)" in text      # the intern
    assert "refused (grant_expired)" in text            # the spouse after expiry
    assert "monitor alerts: ['break_glass']" in text
    assert "justified (1 access)" in text
    assert "hash chain intact" in text and text.rstrip().endswith("True.")
    assert "737" not in text                            # the CVV never appears
    assert (tmp_path / "lotus-access-audit.db").exists()
