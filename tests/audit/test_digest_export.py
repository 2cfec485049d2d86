"""The daily export of the signed chain heads to a file outside the database, and
audit_verify --against checking the trail against it."""

import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.utils import timezone

from audit.chain import CONTENT_FIELDS, link_hash, payload_digest
from audit.models import AuditChain, AuditDigest, AuditEvent
from compliance.audit_trail import heads_seal
from compliance.models import Alert
from compliance.tasks import verify_audit_chains, write_audit_digests
from tests.audit.helpers import audit_verify, fill_chain, head_reset, raw, triggers_disabled

committed = TestCase.captureOnCommitCallbacks


@pytest.fixture
def export_dir(settings, tmp_path) -> Path:
    settings.AUDIT_DIGEST_EXPORT_DIR = tmp_path / "exports"
    settings.AUDIT_DIGEST_EMAILS = []
    return settings.AUDIT_DIGEST_EXPORT_DIR


@pytest.fixture
def chain(world, export_dir) -> AuditChain:
    officer = world.users["compliance_officer"]
    officer.email = "dpo@example.org"
    officer.save(update_fields=["email"])
    return fill_chain(world.practice_a, 5)


@pytest.fixture
def exported(chain) -> Path:
    """The daily task has run: digests signed in the database, and exported."""
    write_audit_digests.apply().get()
    chain.refresh_from_db()
    (path,) = Path(settings.AUDIT_DIGEST_EXPORT_DIR).iterdir()
    return path


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _entry(document: dict, chain: AuditChain) -> dict:
    return next(entry for entry in document["entries"] if entry["chain"] == chain.key)


def _event(chain: AuditChain, seq: int) -> AuditEvent:
    return AuditEvent.objects.get(chain=chain, seq=seq)


# --- The export file -------------------------------------------------------------


def test_digest_export_file_holds_every_chain_newest_digest(exported, chain):
    document = _load(exported)

    assert exported.name == f"audit-digests-{timezone.localdate().isoformat()}.json"
    assert document["day"] == timezone.localdate().isoformat()
    assert document["format"] == 1
    newest = {
        digest.chain.key: digest
        for digest in AuditDigest.objects.select_related("chain").order_by("seq")
    }
    assert [entry["chain"] for entry in document["entries"]] == [
        key for key, _digest in sorted(newest.items(), key=lambda item: item[1].chain_id)
    ]
    entry = _entry(document, chain)
    digest = newest[chain.key]
    assert entry["chain_id"] == chain.pk
    assert (entry["seq"], entry["hash"], entry["signature"]) == (
        digest.seq,
        digest.hash,
        digest.signature,
    )
    assert entry["seq"] == chain.last_seq


def test_digest_export_signature_covers_the_whole_file(exported):
    document = _load(exported)
    signed = {key: value for key, value in document.items() if key != "signature"}
    message = (
        b"audit-digest-export:"
        + json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    key = settings.AUDIT_SIGNING_KEY.encode()
    assert document["signature"] == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_digest_export_file_is_mode_0600_in_a_0700_directory(exported):
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    assert stat.S_IMODE(exported.parent.stat().st_mode) == 0o700
    # No temporary file left behind.
    assert list(exported.parent.iterdir()) == [exported]


def test_seal_rerun_with_no_new_event_rewrites_the_same_content(exported):
    heads_seal()
    before = exported.read_bytes()
    assert heads_seal() == exported
    assert exported.read_bytes() == before
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600


def test_digest_export_records_an_export_event_on_the_platform_chain(exported):
    event = AuditEvent.objects.filter(object_type="audit_digest_export").get()
    document = _load(exported)
    assert event.chain.key == "platform"
    assert (event.action, event.object_id, event.outcome) == ("export", document["day"], "allowed")
    assert event.detail == {"day": document["day"], "chains": len(document["entries"]), "mailed": 0}


def test_digest_export_mails_the_file_when_addresses_are_configured(chain, settings, mailoutbox):
    settings.AUDIT_DIGEST_EMAILS = ["archive@example.org", "dpo@example.org"]
    write_audit_digests.apply().get()

    (message,) = mailoutbox
    (path,) = Path(settings.AUDIT_DIGEST_EXPORT_DIR).iterdir()
    assert message.to == ["archive@example.org", "dpo@example.org"]
    assert "Empreintes signées du journal d'audit" in message.subject
    assert "aucune donnée de santé" in message.body
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == (path.name, "application/json")
    assert content == path.read_bytes()
    event = AuditEvent.objects.get(object_type="audit_digest_export")
    assert event.detail["mailed"] == 2
    assert "archive@example.org" not in json.dumps(event.detail)


def test_digest_export_sends_no_mail_when_no_address_is_configured(exported, mailoutbox):
    assert mailoutbox == []


def test_write_audit_digests_fails_when_the_export_cannot_be_written(chain, settings):
    # A plain file where the directory should be: the export cannot be written.
    blocker = Path(settings.AUDIT_DIGEST_EXPORT_DIR)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a directory")

    # Retried (autoretry_for=OSError), not swallowed; no export event claims a file.
    with pytest.raises(Retry):
        write_audit_digests.apply()
    assert not AuditEvent.objects.filter(object_type="audit_digest_export").exists()


# --- audit_verify --against ------------------------------------------------------


def test_audit_verify_against_a_clean_export_passes(exported, chain):
    output, status = audit_verify("--against", str(exported))
    assert status == 0, output
    assert f"{exported.name}  {len(_load(exported)['entries'])} empreintes  OK" in output
    assert "1 export(s) vérifié(s) : OK" in output
    assert Alert.objects.count() == 0


def _rewrite_last_event_and_delete_digests(chain: AuditChain) -> tuple[AuditEvent, str]:
    """What a superuser can do: rewrite the newest event, re-chain it, reset the
    head and delete the chain's signed digests; the database alone then verifies."""
    last = _event(chain, chain.last_seq)
    content = {name: getattr(last, name) for name in CONTENT_FIELDS}
    content["object_id"] = "999999"
    new_hash = link_hash(last.prev_hash, last.seq, payload_digest(content))
    with triggers_disabled("audit_auditevent", "audit_auditdigest"):
        raw(
            "UPDATE audit_auditevent SET object_id = '999999', hash = %s WHERE id = %s",
            [new_hash, last.pk],
        )
        raw("DELETE FROM audit_auditdigest WHERE chain_id = %s", [chain.pk])
    head_reset(chain, last.seq, new_hash)
    return last, new_hash


def test_audit_verify_against_detects_a_rewrite_whose_digests_were_deleted(
    exported, chain, mailoutbox
):
    last, new_hash = _rewrite_last_event_and_delete_digests(chain)
    # The database alone sees nothing.
    assert audit_verify("--no-alert")[1] == 0

    with committed(execute=True):
        output, status = audit_verify("--against", str(exported))

    assert status == 1
    assert f"{chain.key}  {chain.last_seq} événements  0 empreintes  OK" in output
    line = next(line for line in output.splitlines() if "ROMPUE" in line)
    assert line.startswith(f"{chain.key}  ROMPUE selon {exported.name} : ")
    assert f"anomalie=export_hash événement={last.pk} seq={last.seq}" in line
    assert f"attendu={last.hash} trouvé={new_hash}" in line
    alert = Alert.objects.get()
    assert alert.kind == "digest_mismatch"
    assert (alert.detail["chain_id"], alert.detail["problem"]) == (chain.pk, "export_hash")
    assert alert.practice == chain.practice
    assert len(mailoutbox) == 1


def test_nightly_verification_checks_the_newest_export_by_itself(exported, chain):
    last, _new_hash = _rewrite_last_event_and_delete_digests(chain)

    result = verify_audit_chains.apply().get()

    assert result == {"chains": AuditChain.objects.count(), "broken": 0, "export_broken": 1}
    alert = Alert.objects.get()
    assert (alert.detail["problem"], alert.detail["seq"]) == ("export_hash", last.seq)


def test_nightly_verification_without_any_export_checks_the_chains_only(chain):
    assert verify_audit_chains.apply().get()["export_broken"] == 0
    assert not Alert.objects.exists()


def test_audit_verify_against_detects_a_tampered_file(exported, chain):
    document = _load(exported)
    _entry(document, chain)["seq"] -= 1
    exported.write_text(json.dumps(document))

    output, status = audit_verify("--against", str(exported))

    assert status == 1
    assert f"{exported.name}  ROMPUE selon {exported.name} : anomalie=export_signature" in output
    # The valid signature of the tampered file is not printed.
    assert "HMAC(AUDIT_SIGNING_KEY)" in output
    alert = Alert.objects.get()
    assert (alert.kind, alert.detail["chain"], alert.detail["chain_id"]) == (
        "digest_mismatch",
        exported.name,
        None,
    )


def test_audit_verify_against_detects_a_head_reset_below_the_exported_seq(exported, chain):
    signed_seq = chain.last_seq
    kept = _event(chain, signed_seq - 2)
    with triggers_disabled("audit_auditevent", "audit_auditdigest"):
        raw(
            "DELETE FROM audit_auditevent WHERE chain_id = %s AND seq > %s",
            [chain.pk, kept.seq],
        )
        raw("DELETE FROM audit_auditdigest WHERE chain_id = %s", [chain.pk])
    head_reset(chain, kept.seq, kept.hash)
    assert audit_verify("--no-alert")[1] == 0

    output, status = audit_verify("--against", str(exported), "--no-alert")

    assert status == 1
    assert (
        f"{chain.key}  ROMPUE selon {exported.name} : anomalie=export_beyond_head "
        f"événement=- seq={signed_seq} attendu={signed_seq} trouvé={kept.seq}"
    ) in output
    assert Alert.objects.count() == 0  # --no-alert


def test_audit_verify_against_detects_a_forged_entry_in_a_re_signed_file(exported, chain):
    """Even with a valid file signature, each entry must carry its own digest's."""
    from audit.verification import export_signature

    document = _load(exported)
    _entry(document, chain)["hash"] = "0" * 64
    document["signature"] = export_signature(document)
    exported.write_text(json.dumps(document))

    output, status = audit_verify("--against", str(exported), "--no-alert")

    assert status == 1
    assert f"{chain.key}  ROMPUE selon {exported.name} : anomalie=export_signature" in output


def test_audit_verify_against_refuses_a_missing_file(exported, tmp_path):
    with pytest.raises(CommandError, match="Fichier introuvable"):
        call_command("audit_verify", "--against", str(tmp_path / "nope.json"))


def test_audit_verify_against_reports_an_unreadable_file(exported, tmp_path):
    garbage = tmp_path / "audit-digests-garbage.json"
    garbage.write_text("{not json")
    output, status = audit_verify("--against", str(garbage), "--no-alert")
    assert status == 1
    assert "anomalie=export_format" in output
