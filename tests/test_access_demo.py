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
    assert "the CVV is absent" in text and "CVV still absent" in text
    assert "6222020200112233445" not in text.split("breaks the glass")[0]
    assert (tmp_path / "lotus-access-audit.db").exists()
