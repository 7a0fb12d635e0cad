"""Planning rules: which keys can be copied, which versions a target needs, the mapping tag."""

from __future__ import annotations

import datetime

import pytest

from kms_key_backup.job import parse_job
from kms_key_backup.plan import (TAG_COPIED_VERSIONS, TAG_SOURCE_KEY_ID, CopiedVersions, SourceVersion, copy_tags,
                                 is_copy_of, parse_copied_versions, plan_versions, retry_token, unsupported_reason)

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def version(index: int, state: str = "ENABLED") -> SourceVersion:
    return SourceVersion(f"ocid1.keyversion.oc1.eu-frankfurt-1.aaaa.v{index}", state,
                         T0 + datetime.timedelta(minutes=index))


def ids(*indexes: int) -> list[str]:
    return [version(i).id for i in indexes]


UNSUPPORTED = [
    ("hsm", ("HSM", "AES", "ENABLED", "RSA_OAEP_AES_SHA256"), "HSM"),
    ("external", ("EXTERNAL", "AES", "ENABLED", "RSA_OAEP_AES_SHA256"), "external"),
    ("ecdsa", ("SOFTWARE", "ECDSA", "ENABLED", "RSA_OAEP_AES_SHA256"), "ECDSA"),
    ("rsa with rsa-oaep only", ("SOFTWARE", "RSA", "ENABLED", "RSA_OAEP_SHA256"), "RSA_OAEP_AES_SHA256"),
    ("disabled", ("SOFTWARE", "AES", "DISABLED", "RSA_OAEP_AES_SHA256"), "DISABLED"),
    ("pending deletion", ("SOFTWARE", "AES", "PENDING_DELETION", "RSA_OAEP_AES_SHA256"), "PENDING_DELETION"),
    ("creating", ("SOFTWARE", "AES", "CREATING", "RSA_OAEP_AES_SHA256"), "later run"),
]


@pytest.mark.parametrize("arguments,expected", [c[1:] for c in UNSUPPORTED], ids=[c[0] for c in UNSUPPORTED])
def test_unsupported_reason_names_the_cause(arguments, expected):
    reason = unsupported_reason(*arguments)

    assert reason is not None
    assert expected in reason


@pytest.mark.parametrize("algorithm,wrapping", [("AES", "RSA_OAEP_SHA256"), ("AES", "RSA_OAEP_AES_SHA256"),
                                                ("RSA", "RSA_OAEP_AES_SHA256")])
def test_software_aes_and_rsa_keys_are_copyable(algorithm, wrapping):
    assert unsupported_reason("SOFTWARE", algorithm, "ENABLED", wrapping) is None


def test_all_mode_plans_every_version_oldest_first():
    versions = [version(3), version(1), version(2)]

    plan = plan_versions(versions, version(3).id, "all", [], None)

    assert plan.to_copy == ids(1, 2, 3)
    assert plan.skipped == []


def test_all_mode_plans_only_versions_after_last_copied():
    plan = plan_versions([version(1), version(2), version(3)], version(3).id, "all", [],
                         CopiedVersions(1, version(1).id))

    assert plan.to_copy == ids(2, 3)
    assert plan.already_copied == 1


def test_disabled_version_is_skipped_with_reason():
    plan = plan_versions([version(1), version(2, "DISABLED"), version(3)], version(3).id, "all", [], None)

    assert plan.to_copy == ids(1, 3)
    assert plan.skipped[0]["key_version_id"] == version(2).id
    assert "DISABLED" in plan.skipped[0]["reason"]


def test_current_mode_plans_current_version_only():
    plan = plan_versions([version(1), version(2), version(3)], version(3).id, "current", [], None)

    assert plan.to_copy == ids(3)


def test_explicit_mode_plans_listed_versions_in_order():
    plan = plan_versions([version(1), version(2), version(3)], version(3).id, "explicit", ids(3, 1), None)

    assert plan.to_copy == ids(1, 3)


def test_explicit_version_older_than_last_copied_is_not_planned():
    plan = plan_versions([version(1), version(2), version(3)], version(3).id, "explicit", ids(1),
                         CopiedVersions(1, version(2).id))

    assert plan.to_copy == []


def test_unknown_last_copied_version_raises():
    with pytest.raises(LookupError):
        plan_versions([version(1)], version(1).id, "all", [], CopiedVersions(1, version(9).id))


@pytest.mark.parametrize("value", [None, "", "3", "x:ocid1.keyversion.a", "3:ocid1.key.a", "-1:ocid1.keyversion.a"])
def test_malformed_copied_versions_tag_is_none(value):
    assert parse_copied_versions(value) is None


def test_copied_versions_tag_round_trips():
    copied = CopiedVersions(4, version(4).id)

    assert parse_copied_versions(copied.to_tag()) == copied


def test_retry_token_is_deterministic_and_distinct():
    first = retry_token("ocid1.vault.a", version(1).id)

    assert first == retry_token("ocid1.vault.a", version(1).id)
    assert first != retry_token("ocid1.vault.b", version(1).id)
    assert first != retry_token("ocid1.vault.a", version(2).id)
    assert len(first) == 64


def _job():
    return parse_job({"source": {"region": "eu-frankfurt-1", "vault_id": "ocid1.vault.oc1.eu-frankfurt-1.a.src"},
                      "targets": [{"region": "eu-stockholm-1", "vault_id": "ocid1.vault.oc1.eu-stockholm-1.b.tgt",
                                   "compartment_id": "ocid1.compartment.oc1..c"}]})


def test_copy_tags_keep_source_tags_and_add_provenance():
    tags = copy_tags(_job(), "ocid1.key.src", {"team": "payments", TAG_COPIED_VERSIONS: "forged"},
                     CopiedVersions(2, version(2).id))

    assert tags["team"] == "payments"
    assert tags[TAG_SOURCE_KEY_ID] == "ocid1.key.src"
    assert tags[TAG_COPIED_VERSIONS] == f"2:{version(2).id}"


def test_is_copy_of_requires_the_source_vault():
    job = _job()
    tags = copy_tags(job, "ocid1.key.src", {}, CopiedVersions(1, version(1).id))

    assert is_copy_of(tags, job) == "ocid1.key.src"
    assert is_copy_of({**tags, "kms-key-backup.source-vault-id": "ocid1.vault.other"}, job) is None
    assert is_copy_of(None, job) is None
