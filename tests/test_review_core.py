"""Review fixes of the core: validation messages, path labels, parsing plans, signing.

- A ``ParamValidationError`` names the parameter and the rule, never the value.
- Only URI path labels refuse ``.`` and ``..`` (the body ``DeviceId`` does not).
- Only path labels are remembered as valid (tokens, unique per call, are not).
- Output converters come from field metadata (``conv``), not annotation text.
- ``sign`` builds the credential scope once.
"""

from __future__ import annotations

import traceback
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from cognitosync_async import (
    CognitoStreams,
    ParamValidationError,
    PushSync,
    RecordPatch,
    _identity,
    _models,
    _operations,
)
from cognitosync_async import _validation as val
from cognitosync_async._identity import IDENTITY_OPERATIONS, CognitoIdentityCredentials
from cognitosync_async._operations import OPERATIONS, validate

POOL = "us-east-1:00000000-0000-0000-0000-000000000001"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"
SECRET = "SECRETVALUE"

UPDATE = {
    "identity_pool_id": POOL,
    "identity_id": IDENTITY,
    "dataset_name": "d",
    "sync_session_token": "s",
}


def _op(name: str, **kwargs: Any) -> Any:
    """A call that validates ``kwargs`` for the operation ``name``."""
    op = OPERATIONS.get(name) or IDENTITY_OPERATIONS[name]
    return lambda: validate(op, kwargs)


# (call, parameter, the secret the message must not show)
LEAKS = [
    pytest.param(lambda: RecordPatch("replace", "k", 0, SECRET.encode()), "value", SECRET,
                 id="value-bytes"),
    pytest.param(lambda: RecordPatch("replace", "k", 0, SECRET * 100_000), "value", SECRET,
                 id="value-too-long"),
    pytest.param(lambda: RecordPatch("replace", SECRET * 200, 0), "key", SECRET,
                 id="key-too-long"),
    pytest.param(lambda: RecordPatch(SECRET, "k", 0), "op", SECRET, id="op-unknown"),
    pytest.param(lambda: RecordPatch("replace", "k", SECRET), "sync_count",
                 SECRET, id="count-str"),
    pytest.param(lambda: RecordPatch("replace", "k", 0, None, SECRET), "device_last_modified_date",
                 SECRET, id="date-str"),
    pytest.param(lambda: PushSync(role_arn=SECRET), "role_arn", SECRET, id="role-arn"),
    pytest.param(lambda: PushSync(application_arns=[SECRET]), "application_arns", SECRET,
                 id="app-arn"),
    pytest.param(lambda: PushSync(application_arns=SECRET), "application_arns", SECRET,
                 id="app-arns-str"),
    pytest.param(lambda: CognitoStreams(streaming_status=SECRET), "streaming_status", SECRET,
                 id="status"),
    pytest.param(_op("UpdateRecords", **UPDATE, client_context=f"{SECRET}\nx"),
                 "client_context", SECRET, id="client-context-newline"),
    pytest.param(_op("UpdateRecords", **UPDATE, client_context=SECRET.encode()),
                 "client_context", SECRET, id="client-context-bytes"),
    pytest.param(_op("UpdateRecords", **{**UPDATE, "sync_session_token": SECRET.encode()}),
                 "sync_session_token", SECRET, id="session-token-bytes"),
    pytest.param(_op("UpdateRecords", **UPDATE, record_patches=[{"Value": SECRET}]),
                 "record_patches", SECRET, id="patch-dict"),
    pytest.param(_op("UpdateRecords", **{**UPDATE, "dataset_name": f"{SECRET}/x"}),
                 "dataset_name", SECRET, id="dataset-pattern"),
    pytest.param(_op("DescribeDataset", **{**UPDATE, "identity_id": f"{SECRET}:zz"}),
                 "identity_id", SECRET, id="identity-pattern"),
    pytest.param(_op("RegisterDevice", identity_pool_id=POOL, identity_id=IDENTITY,
                     platform=SECRET, token="t"), "platform", SECRET, id="platform"),
    pytest.param(_op("RegisterDevice", identity_pool_id=POOL, identity_id=IDENTITY,
                     platform="GCM", token=SECRET.encode()), "token", SECRET, id="device-token"),
    pytest.param(_op("SetCognitoEvents", identity_pool_id=POOL, events={"a": SECRET, "b": "c"}),
                 "events", SECRET, id="events-two"),
    pytest.param(_op("SetCognitoEvents", identity_pool_id=POOL, events={SECRET: 1}),
                 "events", SECRET, id="events-int-value"),
    pytest.param(_op("ListDatasets", identity_pool_id=POOL, identity_id=IDENTITY,
                     next_token=SECRET.encode()), "next_token", SECRET, id="next-token"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={"p": SECRET * 5000}), "logins",
                 SECRET, id="login-token-too-long"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={"p": SECRET.encode()}), "logins",
                 SECRET, id="login-token-bytes"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={SECRET * 20: "t"}), "logins",
                 SECRET, id="login-name-too-long"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins=[("p", SECRET)]), "logins",
                 SECRET, id="logins-list"),
    pytest.param(_op("GetId", identity_pool_id=POOL, account_id=SECRET), "account_id",
                 SECRET, id="account-id"),
    pytest.param(_op("GetCredentialsForIdentity", identity_id=IDENTITY,
                     custom_role_arn=SECRET), "custom_role_arn", SECRET, id="custom-role"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=60,
                     next_token=f"{SECRET} x"), "next_token", SECRET, id="pagination-key"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=60,
                     hide_disabled=SECRET), "hide_disabled", SECRET, id="hide-disabled"),
    pytest.param(_op("GetOpenIdTokenForDeveloperIdentity", identity_pool_id=POOL,
                     logins={"p": "u"}, principal_tags={"t": SECRET * 30}), "principal_tags",
                 SECRET, id="principal-tag-too-long"),
    pytest.param(_op("GetOpenIdTokenForDeveloperIdentity", identity_pool_id=POOL,
                     logins={"p": "u"}, token_duration=123_456_789), "token_duration",
                 "123456789", id="token-duration-too-high"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=987_654),
                 "max_results", "987654", id="max-results-too-high"),
    pytest.param(lambda: CognitoIdentityCredentials(POOL, logins={"p": SECRET * 5000}),
                 "logins", SECRET, id="provider-logins"),
    pytest.param(lambda: CognitoIdentityCredentials(SECRET), "identity_pool_id", SECRET,
                 id="provider-pool"),
]


@pytest.mark.parametrize(("call", "param", "secret"), LEAKS)
def test_message_names_parameter_and_rule_never_the_value(
    call: Any, param: str, secret: str
) -> None:
    with pytest.raises(ParamValidationError) as info:
        call()
    err = info.value
    assert err.param == param
    assert str(err).startswith(f"Invalid parameter {param}: ")
    for text in (str(err), err.rule, repr(err), *map(str, err.args)):
        assert secret not in text
    assert secret not in "".join(traceback.format_exception(err))  # as logged


WORDING = [
    pytest.param(lambda: RecordPatch("replace", "k", 0, b"x"), "must be of type str, got bytes",
                 id="type"),
    pytest.param(lambda: RecordPatch("replace", "k", True), "must be of type int, got bool",
                 id="bool"),
    pytest.param(lambda: RecordPatch("delete", "k", 0), "must be one of ('replace', 'remove')",
                 id="enum"),
    pytest.param(lambda: RecordPatch("replace", "k", 0, "v" * 1_048_576),
                 "length must be <= 1048575 (got 1048576)", id="max-len"),
    pytest.param(lambda: RecordPatch("replace", "", 0), "length must be >= 1 (got 0)",
                 id="min-len"),
    pytest.param(_op("DescribeDataset", **{**UPDATE, "dataset_name": "a b"}),
                 "must match the pattern '[a-zA-Z0-9_.:-]+'", id="pattern"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=61), "must be <= 60",
                 id="le"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=0), "must be >= 1",
                 id="ge"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={"p": 5}),
                 "each value must be of type str, got int", id="map-value"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={"": "t"}),
                 "each key: length must be >= 1 (got 0)", id="map-key"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={f"p{i}": "t" for i in range(11)}),
                 "length must be <= 10 (got 11)", id="map-entries"),
    pytest.param(_op("UpdateRecords", **UPDATE, record_patches=[1]),
                 "each item must be of type RecordPatch, got int", id="list-item"),
    pytest.param(_op("UpdateRecords", **UPDATE, record_patches=(1,)),
                 "must be of type list, got tuple", id="list"),
    pytest.param(lambda: CognitoIdentityCredentials(POOL, advisory_refresh=-1),
                 "must not be negative", id="advisory-refresh"),
]


@pytest.mark.parametrize(("call", "rule"), WORDING)
def test_rule_wording(call: Any, rule: str) -> None:
    with pytest.raises(ParamValidationError) as info:
        call()
    assert info.value.rule == rule


# --------------------------------------------------------------------------- path labels


def test_body_device_id_may_be_a_dot() -> None:
    for device in (".", ".."):
        validate(OPERATIONS["UpdateRecords"], {**UPDATE, "device_id": device})


@pytest.mark.parametrize("op", ["SubscribeToDataset", "UnsubscribeFromDataset"])
@pytest.mark.parametrize("param", ["dataset_name", "device_id"])
@pytest.mark.parametrize("value", [".", ".."])
def test_every_path_label_refuses_dot_segments(op: str, param: str, value: str) -> None:
    kwargs = {**UPDATE, "device_id": "v", param: value}
    with pytest.raises(ParamValidationError) as info:
        validate(OPERATIONS[op], kwargs)
    assert info.value.param == param
    assert info.value.rule == (
        "must not be '.' or '..': such a path segment does not survive URL normalisation"
    )


def test_shapes_themselves_accept_dots() -> None:
    """The dot-segment rule belongs to the URI location, not to the shapes."""
    for check in (val.DATASET_NAME, val.DEVICE_ID):
        check(None, val.param("x"), ".")
        check(None, val.param("x"), "..")


def test_only_path_labels_are_remembered_as_valid() -> None:
    _operations._VALID_URI.clear()
    token = "a-token-unique-to-this-call"
    validate(OPERATIONS["UpdateRecords"], {**UPDATE, "sync_session_token": token,
                                           "client_context": "c", "device_id": "v"})
    remembered = {value for _, value in _operations._VALID_URI}
    assert remembered == {POOL, IDENTITY, "d"}
    validate(IDENTITY_OPERATIONS["GetId"], {"identity_pool_id": POOL, "logins": {"p": "t"}})
    assert len(_operations._VALID_URI) == 3


def test_integer_maximum() -> None:
    check = val.integer(minimum=1, maximum=3)
    for ok in (1, 2, 3):
        check(None, val.param("n"), ok)
    assert val.optional(check)(None, val.param("n"), None) is None
    for bad in (0, 4, True, 2.0, "2"):
        with pytest.raises(ParamValidationError):
            check(None, val.param("n"), bad)
    assert val.LONG is not val.INTEGER  # the model's Long is 64-bit, its Integer 32-bit


# --------------------------------------------------------------------------- parsing plans


def _output_classes() -> list[type]:
    classes = []
    for module in (_models, _identity):
        for obj in vars(module).values():
            if isinstance(obj, type) and attrs.has(obj) and obj.__module__ == module.__name__:
                if all("wire" in f.metadata for f in attrs.fields(obj)) and attrs.fields(obj):
                    classes.append(obj)
    return classes


def test_converters_come_from_field_metadata() -> None:
    classes = _output_classes()
    assert _models.Record in classes and _identity.IdentityDescription in classes
    for cls in classes:
        for field in attrs.fields(cls):
            if field.type == "datetime | None":
                assert field.metadata.get("conv") is _models.parse_timestamp, (cls, field.name)
            assert field.converter is None, (cls, field.name)  # one mechanism only


def test_identity_outputs_parse_through_conv() -> None:
    resp = _models.parse(
        _identity.ListIdentitiesResponse,
        {"Identities": [{"IdentityId": IDENTITY, "CreationDate": 1.5}], "NextToken": "n"},
    )
    assert resp.identities is not None
    assert isinstance(resp.identities[0].creation_date, datetime)
    creds = _models.parse(
        _identity.GetCredentialsForIdentityResponse,
        {"Credentials": {"AccessKeyId": "AK", "SecretKey": "S", "Expiration": 10}},
    )
    assert creds.credentials is not None and creds.credentials.access_key_id == "AK"


# --------------------------------------------------------------------------- signing


def test_negative_advisory_refresh_is_a_param_error() -> None:
    with pytest.raises(ParamValidationError) as info:
        CognitoIdentityCredentials(POOL, advisory_refresh=timedelta(seconds=-1))
    assert info.value.param == "advisory_refresh"
    assert isinstance(info.value, ValueError)
