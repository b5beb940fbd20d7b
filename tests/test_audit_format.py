"""The entry byte format, checkpoints, the export and the stand-alone verifier."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.audit import AuditEvent, AuditLog, Checkpoint, decode_entry, encode_event
from finprivacy.audit.__main__ import main as verifier_main
from finprivacy.audit._merkle import leaf_hash

T = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)
ID = "0123456789abcdef0123456789abcdef"

# A fixed vector: the format is a contract (docs/explanation/audit.md), pinned here.
VECTOR_EVENT = AuditEvent(action="read", actor="amy", subject="client-42",
                          purpose="bookkeeping", decision="masked",
                          fields_returned=("name", "phone"), fields_masked=("id_number",),
                          reason="客户来电核对", details={"rows": "1"})
VECTOR_BYTES = (
    '{"action":"read","actor":"amy","decision":"masked","details":{"rows":"1"},'
    '"fields_masked":["id_number"],"fields_returned":["name","phone"],'
    '"id":"0123456789abcdef0123456789abcdef","purpose":"bookkeeping",'
    '"reason":"客户来电核对","subject":"client-42","time":"2026-03-02T09:30:15.123456Z",'
    '"v":1}').encode()


def test_entry_vector_is_stable() -> None:
    raw = encode_event(VECTOR_EVENT, T, entry_id=ID)
    assert raw == VECTOR_BYTES
    assert leaf_hash(raw).hex() == __import__("hashlib").sha256(b"\x00" + raw).hexdigest()
    entry = decode_entry(raw, 7)
    assert (entry.seq, entry.entry_id, entry.time, entry.reason) == (7, ID, T, "客户来电核对")
    event = entry.to_event()
    assert event.fields_masked == ("id_number",) and event.time == T


def test_defaults_are_left_out_and_non_canonical_forms_refused() -> None:
    raw = encode_event(AuditEvent(action="update"), T, entry_id=ID)
    assert raw == (b'{"action":"update","decision":"info","id":"' + ID.encode()
                   + b'","time":"2026-03-02T09:30:15.123456Z","v":1}')
    obj = json.loads(raw)
    for variant in (
        json.dumps(obj).encode(),  # whitespace
        json.dumps(obj, sort_keys=True, separators=(",", ":")).encode().replace(
            b'"v":1', b'"v":1.0'),
        raw.replace(b'"decision":"info",', b'"decision":"info","actor":"",'),
        raw.replace(b'"v":1}', b'"v":1,"break_glass":false}'),
        raw.replace(b'"v":1}', b'"v":2}'),
        raw.replace(b".123456Z", b"Z"),
        raw.replace(b'"action":"update",', b'"action":"update","action":"update",'),
        raw + b"\n",
    ):
        with pytest.raises(fp.FormatError):
            decode_entry(variant)


_text = st.text(max_size=12)
_events = st.builds(
    AuditEvent, action=st.text(min_size=1, max_size=12), actor=_text, subject=_text,
    purpose=_text, decision=st.sampled_from(["allowed", "masked", "denied", "info", "alert"]),
    reason=_text, tenant=_text, fields_returned=st.lists(_text, max_size=3).map(tuple),
    fields_masked=st.lists(_text, max_size=3).map(tuple), break_glass=st.booleans(),
    details=st.dictionaries(st.from_regex(r"[a-z0-9_.]{1,8}", fullmatch=True), _text,
                            max_size=3))


@given(_events)
def test_encode_decode_roundtrip(event: AuditEvent) -> None:
    try:
        raw = encode_event(event, T, entry_id=ID)
    except fp.InvalidInputError:
        return  # e.g. lone surrogates are refused, never stored
    entry = decode_entry(raw)
    assert entry.to_event() == AuditEvent(**{**_fields(event), "time": T})
    assert entry.raw == raw


def _fields(event: AuditEvent) -> dict[str, object]:
    return {f: getattr(event, f) for f in event.__dataclass_fields__}


@given(st.binary(max_size=300))
def test_entry_decoder_garbage_bytes(data: bytes) -> None:
    try:
        decode_entry(data)
    except fp.FormatError:
        return
    # Anything accepted must be exactly canonical: re-encoding gives the same bytes.
    entry = decode_entry(data)
    assert encode_event(entry.to_event(), entry.time, entry_id=entry.entry_id) == data


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids,
                                                               max_size=4),
    max_leaves=12)


@given(st.dictionaries(st.sampled_from(["v", "id", "time", "action", "decision", "actor",
                                         "details", "fields_returned", "break_glass", "x"]),
                       _json, max_size=8))
def test_entry_decoder_garbage_json(obj: dict[str, object]) -> None:
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with contextlib.suppress(fp.FormatError):
        decode_entry(data.encode("utf-8", "surrogatepass"))


def test_deeply_nested_json_is_a_format_error() -> None:
    with pytest.raises(fp.FormatError):
        decode_entry(b"[" * 100_000)


@given(st.binary(max_size=300), st.binary(max_size=70))
def test_checkpoint_parser_garbage(body: bytes, sig: bytes) -> None:
    with contextlib.suppress(fp.FormatError):
        Checkpoint.parse(body, sig)


def test_checkpoint_body_layout_and_tampering() -> None:
    signer = fp.Ed25519Signer.generate()
    log = AuditLog("memory:", signer=signer, origin="lotus/audit", clock=fp.FixedClock(T))
    log.append("read", actor="amy", subject="c1")
    cp = log.checkpoint()
    lines = cp.body.decode().splitlines()
    assert lines[0] == "finprivacy-audit-checkpoint/v1"
    assert [ln.split(" ")[0] for ln in lines[1:]] == ["origin", "size", "root", "chain",
                                                      "time", "key"]
    assert lines[2] == "size 1" and lines[5] == "time 2026-03-02T09:30:15.123456Z"
    cp.verify_signature(signer.verifier())
    forged = Checkpoint.parse(cp.body.replace(b"size 1", b"size 2"), cp.signature)
    with pytest.raises(fp.AuditIntegrityError):
        forged.verify_signature(signer.verifier())
    with pytest.raises(fp.AuditIntegrityError):
        cp.verify_signature(fp.Ed25519Signer.generate().verifier())
    with pytest.raises(fp.FormatError):
        Checkpoint.parse(cp.body.replace(b"size 1", b"size 01"), cp.signature)


def test_signer_roundtrip_and_verifier_errors() -> None:
    signer = fp.Ed25519Signer.generate()
    again = fp.Ed25519Signer.from_private_bytes(signer.export_private_bytes())
    assert again.key_id == signer.key_id and len(signer.key_id) == 16
    sig = signer.sign(b"msg")
    fp.Ed25519Verifier(signer.public_key_bytes()).verify(sig, b"msg")
    with pytest.raises(fp.VerificationError):
        signer.verifier().verify(sig, b"msg!")
    with pytest.raises(fp.VerificationError):
        signer.verifier().verify(sig[:-1], b"msg")
    with pytest.raises(fp.InvalidInputError):
        fp.Ed25519Verifier(b"short")
    with pytest.raises(fp.KeyringError):
        fp.Ed25519Signer.from_private_bytes(b"short")


# -- export and the stand-alone verifier -------------------------------------------------------


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Path, fp.Ed25519Signer]:
    signer = fp.Ed25519Signer.generate()
    log = AuditLog("memory:", signer=signer, origin="lotus/audit", clock=fp.FixedClock(T))
    for i in range(12):
        log.append("read", actor="amy", subject=f"c{i}", decision="allowed")
    log.checkpoint()
    for i in range(5):
        log.append("read", actor="bob", subject=f"c{i}", decision="allowed")
    path = tmp_path / "audit.jsonl"
    log.export(str(path), inclusion_for=[3])
    key = tmp_path / "audit.pub"
    key.write_text(signer.public_key_bytes().hex())
    return path, key, signer


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "finprivacy.audit", *args],
                          capture_output=True, text=True, check=False, timeout=120)


def test_cli_verifies_a_good_export(exported: tuple[Path, Path, fp.Ed25519Signer],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path, key, _ = exported
    ok = _cli("verify", str(path), "--public-key", str(key), "--format", "json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["ok"] and report["size"] == 17 and report["keys_pinned"]
    assert verifier_main(["verify", str(path)]) == 0
    assert "not pinned" in capsys.readouterr().out


def _run(*args: str) -> tuple[int, str]:
    import io
    from contextlib import redirect_stderr

    err = io.StringIO()
    with redirect_stderr(err):
        code = verifier_main(list(args))
    return code, err.getvalue()


def test_cli_fails_on_a_tampered_export(exported: tuple[Path, Path, fp.Ed25519Signer],
                                        tmp_path: Path) -> None:
    path, key, _ = exported
    lines = path.read_text().splitlines()
    idx = next(i for i, ln in enumerate(lines) if '"seq":6' in ln)
    rec = json.loads(lines[idx])
    raw = base64.b64decode(rec["entry"]).replace(b'"c6"', b'"c7"')
    rec["entry"] = base64.b64encode(raw).decode()
    lines[idx] = json.dumps(rec)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    code, err = _run("verify", str(bad), "--public-key", str(key))
    assert code == 1 and "position 6" in err
    lines[idx] = json.dumps(rec)
    # Without the per-entry chain values (optional), the signed checkpoint catches it.
    stripped = [json.dumps({k: v for k, v in json.loads(ln).items() if k != "chain"})
                for ln in lines]
    bad.write_text("\n".join(stripped) + "\n")
    code, err = _run("verify", str(bad), "--public-key", str(key))
    assert code == 1 and "position 11" in err  # the first checkpoint: 0..11
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join(ln for i, ln in enumerate(lines) if i != idx) + "\n")
    code, err = _run("verify", str(dropped), "--public-key", str(key))
    assert code == 1 and "position 6" in err
    other = tmp_path / "other.pub"
    other.write_text(fp.Ed25519Signer.generate().public_key_bytes().hex())
    assert _run("verify", str(path), "--public-key", str(other))[0] == 1
    assert _run("verify", str(tmp_path / "missing.jsonl"))[0] == 2
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not json\n")
    assert _run("verify", str(garbage))[0] == 1


@given(st.lists(st.text(max_size=40), max_size=6))
def test_export_verifier_garbage_lines(lines: list[str]) -> None:
    try:
        fp.verify_export(lines)
    except (fp.AuditIntegrityError, fp.FormatError):
        return
    pytest.fail("garbage verified")


def test_export_verifier_each_line_mutation(exported: tuple[Path, Path, fp.Ed25519Signer]) -> None:
    path, _, signer = exported
    lines = path.read_text().splitlines()
    assert fp.verify_export(lines, keys=signer.verifier()).entries == 17
    for i in range(1, len(lines)):
        rec = json.loads(lines[i])
        for field in ("entry", "signature", "body", "hashes"):
            if field in rec:
                value = rec[field]
                if isinstance(value, list):
                    if not value:
                        continue
                    rec[field] = [base64.b64encode(bytes(32)).decode(), *value[1:]]
                elif field == "body":
                    rec[field] = value.replace("size", "size 1", 1)
                else:
                    data = bytearray(base64.b64decode(value))
                    data[len(data) // 2] ^= 1
                    rec[field] = base64.b64encode(bytes(data)).decode()
        mutated = [*lines[:i], json.dumps(rec), *lines[i + 1:]]
        with pytest.raises((fp.AuditIntegrityError, fp.FormatError)):
            fp.verify_export(mutated, keys=signer.verifier())


_proof_json = st.dictionaries(
    st.sampled_from(["index", "size", "old_size", "new_size", "hashes", "x"]),
    st.one_of(st.integers(-2, 2**64), st.lists(st.one_of(st.text(max_size=50), st.integers()),
                                               max_size=3), st.text(max_size=10), st.none()),
    max_size=5)


@given(_proof_json)
def test_proof_json_decoders_garbage(obj: dict[str, object]) -> None:
    for cls in (fp.InclusionProof, fp.ConsistencyProof):
        with contextlib.suppress(fp.FormatError):
            cls.from_json(obj)
    with contextlib.suppress(fp.FormatError):
        fp.Checkpoint.from_json(obj)


def test_finprivacy_audit_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from finprivacy.cli import main as cli

    signer = fp.Ed25519Signer.generate()
    (tmp_path / "signing.key").write_text(signer.export_private_bytes().hex())
    (tmp_path / "audit.pub").write_bytes(signer.public_key_bytes())
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    log = AuditLog(url, signer=signer, origin="lotus/audit")
    for i in range(6):
        log.append("read", actor="amy", subject=f"c{i}")
    log.close()
    out = tmp_path / "export.jsonl"
    assert cli(["audit", "export", "--db", url, "--origin", "lotus/audit", "--signing-key",
                str(tmp_path / "signing.key"), "--inclusion", "3", str(out)]) == 0
    assert cli(["audit", "verify", str(out), "--public-key", str(tmp_path / "audit.pub"),
                "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["proofs"] == 1
    assert cli(["audit", "check", "--db", url, "--origin", "lotus/audit", "--public-key",
                str(tmp_path / "audit.pub")]) == 0
    assert cli(["audit", "check", "--db", url, "--origin", "lotus/audit", "--public-key",
                str(tmp_path / "audit.pub"), "--workers", "2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["checked_entries"] == 6
    for bad in ("0", "two"):
        assert cli(["audit", "check", "--db", url, "--public-key", str(tmp_path / "audit.pub"),
                    "--workers", bad]) == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err
    other = tmp_path / "other.pub"
    other.write_bytes(fp.Ed25519Signer.generate().public_key_bytes())
    assert cli(["audit", "check", "--db", url, "--origin", "lotus/audit", "--public-key",
                str(other)]) == 1
    assert cli(["audit", "export", "--db", url, "--signing-key",
                str(tmp_path / "missing.key"), str(out)]) == 3
    assert signer.export_private_bytes().hex() not in capsys.readouterr().err


@given(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9999, 12, 31),
                    timezones=st.just(dt.UTC)))
def test_cached_time_formatting_matches_isoformat(when: dt.datetime) -> None:
    from finprivacy.audit._entry import format_time, format_time_us, time_us

    assert format_time_us(time_us(when)) == format_time(when)
    assert format_time_us(time_us(when) + 1_000_000) == format_time(
        when + dt.timedelta(seconds=1))


@given(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9999, 12, 30),
                    timezones=st.just(dt.UTC)))
def test_append_time_text_matches_format_time(when: dt.datetime) -> None:
    """append() formats times itself (cached per millisecond): as format_time does."""
    from unittest import mock

    from finprivacy.audit import _log
    from finprivacy.audit._entry import format_time, time_us

    # The cache starts at the epoch's millisecond: spelled as the function spells it.
    assert _log._format_millisecond(0) == (0, "1970-01-01T00:00:00.000")
    for t in (when, when + dt.timedelta(microseconds=1), when + dt.timedelta(microseconds=999),
              when + dt.timedelta(microseconds=1000), when - dt.timedelta(microseconds=1),
              when + dt.timedelta(seconds=1)):
        with mock.patch.object(_log, "_time_ns", return_value=time_us(t) * 1000 + 999):
            raw = AuditLog("memory:", clock=fp.SystemClock()).append("read").raw
        assert json.loads(raw)["time"] == format_time(t)
        assert decode_entry(raw).time == t
        raw = AuditLog("memory:").append("read", time=t).raw
        assert json.loads(raw)["time"] == format_time(t)


class _Text(str):
    """A str subclass: accepted like text, as before the fast paths."""


_any_name = st.one_of(st.text(max_size=6), st.text(min_size=1020, max_size=1030),
                      st.integers(), st.none(), st.binary(max_size=3),
                      st.text(max_size=4).map(_Text))


@given(st.one_of(st.lists(_any_name, max_size=4), st.lists(_any_name, max_size=4).map(tuple),
                 st.lists(st.just("f"), min_size=250, max_size=260)),
       st.one_of(st.text(max_size=8), st.text(min_size=1020, max_size=1030), st.integers(),
                 st.text(max_size=4).map(_Text)))
def test_fast_encoder_paths_match_the_json_reference(names: list[object], text: object) -> None:
    """The hand-written encoder's fast paths give json.dumps's bytes or the same refusal."""
    from finprivacy.audit._entry import encode_parts

    def ok_text(v: object) -> bool:
        return isinstance(v, str) and len(v) <= 1024

    valid = (ok_text(text) and len(names) <= 256 and all(ok_text(n) for n in names))
    try:
        raw = encode_parts("read", text, text, text, "allowed", "", "", "", "", names, names,
                           False, text, text, "", None, "2026-03-02T09:30:15.123456Z", ID)
    except fp.InvalidInputError:
        assert not valid
        return
    assert valid
    obj: dict[str, object] = {"action": "read", "decision": "allowed", "id": ID,
                              "time": "2026-03-02T09:30:15.123456Z", "v": 1}
    if text:
        obj.update(actor=text, subject=text, purpose=text, request_id=text,
                   policy_version=text)
    if names:
        obj.update(fields_returned=list(names), fields_masked=list(names))
    reference = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert raw == reference.encode("utf-8")


def _encode_outcome(encode: object, args: tuple[object, ...]) -> object:
    try:
        return encode(*args)  # type: ignore[operator]
    except fp.InvalidInputError as exc:
        return ("refused", str(exc))


_any_field = st.one_of(st.just(""), st.text(max_size=6), st.text(min_size=1018, max_size=1030),
                       st.text(alphabet='"\\\n', min_size=500, max_size=520),
                       st.integers(), st.none(), st.binary(max_size=3),
                       st.text(max_size=4).map(_Text), st.just("\ud800"))
_any_names = st.one_of(st.just(()), st.lists(_any_name, max_size=3),
                       st.lists(_any_name, max_size=3).map(tuple),
                       st.lists(st.text(max_size=3), max_size=3).map(iter), st.integers(),
                       st.lists(st.just("f" * 300), min_size=3, max_size=5).map(tuple))
_any_details = st.one_of(st.none(), st.just({}),
                         st.dictionaries(st.sampled_from(["a", "b.c", "bad key"]), _any_field,
                                         max_size=2))


@given(st.tuples(*[_any_field] * 10), _any_names, _any_names, _any_details,
       st.sampled_from(["allowed", "denied", "bogus"]), st.sampled_from([True, False, 1]))
def test_encoder_fast_path_matches_the_checked_encoder(
        texts: tuple[object, ...], returned: object, masked: object, details: object,
        decision: str, break_glass: object) -> None:
    """encode_parts (unchecked escaping, one length check) = the field-by-field encoder.

    Same bytes, or the same refusal with the same message, for every field of every
    kind (text, long text, non-text, str subclasses, lone surrogates, lists, one-shot
    iterators, details).
    """
    import itertools

    from finprivacy.audit._entry import _encode_parts_checked, encode_parts

    actor, subject, purpose, reason, tenant, obo, grant, req, pv, key = texts
    # One-shot iterators: give each encoder its own copy.
    r1, r2 = itertools.tee(returned) if hasattr(returned, "__next__") else (returned,) * 2
    m1, m2 = itertools.tee(masked) if hasattr(masked, "__next__") else (masked,) * 2

    def args(ret: object, mask: object) -> tuple[object, ...]:
        return ("read", actor, subject, purpose, decision, reason, tenant, obo, grant, ret,
                mask, break_glass, req, pv, key, details, "2026-03-02T09:30:15.123456Z", ID)

    assert (_encode_outcome(encode_parts, args(r1, m1))
            == _encode_outcome(_encode_parts_checked, args(r2, m2)))


def test_encoder_fast_path_needs_no_fallback_for_ordinary_entries() -> None:
    """Every field given, as text, tuples and a dict: encoded without the checked encoder."""
    from unittest import mock

    from finprivacy.audit import _entry

    with mock.patch.object(_entry, "_encode_parts_checked",
                           side_effect=AssertionError("fell back")):
        raw = _entry.encode_parts(
            "read", "amy", "client-42", "bookkeeping", "masked", "客户来电核对", "t1", "bob",
            "g1", ("name", "phone"), ["id_number"], True, "req-1", "2026.1", "k1",
            {"rows": "1"}, "2026-03-02T09:30:15.123456Z", ID)
    obj = json.loads(raw)
    assert raw == json.dumps(obj, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode("utf-8")
    assert obj["break_glass"] is True and obj["tenant"] == "t1" and obj["key_id"] == "k1"
