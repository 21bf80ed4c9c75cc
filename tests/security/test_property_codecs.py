"""Property tests of the decoders the key codec's and cursor decoder's tests (tests/dynamo/)
do not cover: access tokens, node ids and the Authorization header. Any string either decodes
to ids that are valid in a key, or is refused (None, or BadUserInput); never another exception.
"""

from __future__ import annotations

import base64
import json
import string
import uuid

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dynamo.keys import child_session_key, parent_session_key, validate_id
from dynamo.limits import MAX_ID_LENGTH
from dynamo.records import ChildSession, ParentSession, record_from_item
from resolvers.auth import bearer_token, resolve_caller
from resolvers.caller import Admin, Anonymous
from resolvers.errors import BadUserInput, Unauthenticated
from resolvers.nodes import NodeRef, customer_global_id, decode_global_id, session_global_id
from resolvers.tokens import MAX_TOKEN_LENGTH, TokenKey, decode_token, encode_token
from tests.security.helpers import moto_only
from tests.support.api import ADMIN_TOKEN


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _json_b64(value: object) -> str:
    """Any JSON, big integers and escaped lone surrogates included (orjson writes neither)."""
    return _b64(json.dumps(value).encode("ascii"))


valid_ids = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="#"),
    min_size=1,
    max_size=MAX_ID_LENGTH,
)
tricky_ids = st.one_of(
    valid_ids,
    st.text(),
    st.text(st.sampled_from("ab#\n\x00\x7fé🙂 .:"), max_size=12),
    st.text(st.sampled_from("ab"), min_size=MAX_ID_LENGTH - 1, max_size=MAX_ID_LENGTH + 1),
)
server_session_ids = st.uuids().map(str)
secrets_ = st.text(string.ascii_letters + string.digits + "-_", min_size=43, max_size=86)
any_secret = st.one_of(secrets_, st.text(max_size=60).filter(lambda s: "." not in s))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
key_lists = st.one_of(
    st.tuples(st.sampled_from(["p", "c", "x", ""]), tricky_ids, tricky_ids).map(list),
    st.tuples(st.sampled_from(["p", "c"]), tricky_ids, tricky_ids, tricky_ids).map(list),
    json_values,
)
any_token = st.one_of(
    st.text(),
    st.text(st.sampled_from("ABCxyz019-_=.+/"), max_size=120),
    st.tuples(st.binary().map(_b64), any_secret).map(".".join),
    st.tuples(key_lists.map(_json_b64), any_secret).map(".".join),
)


def _check_key(key: TokenKey) -> None:
    for part in (key.session_id, key.customer_id, key.parent_session_id):
        if part is not None:
            assert validate_id(part) == part


@settings(max_examples=600, deadline=None)
@given(any_token)
@example("")
@example(".")
@example("." + "a" * 43)
@example(_b64(b'["p","a","b"]') + "." + "a" * 42)
@example(_b64(b'["c","a","b","c","d"]') + "." + "a" * 43)
@example(_b64(b'["p","a#b","c"]') + "." + "a" * 43)
@example(_b64(b'["p","a","b"]') + "é." + "a" * 43)
def test_any_token_decodes_to_valid_ids_or_none(token: str) -> None:
    decoded = decode_token(token)
    if decoded is None:
        return
    key, secret = decoded
    _check_key(key)
    assert len(secret) >= 43
    assert "." not in secret
    assert len(token) <= MAX_TOKEN_LENGTH
    assert decode_token(encode_token(key, secret)) == (key, secret)


@settings(max_examples=300, deadline=None)
@given(server_session_ids, valid_ids, st.one_of(st.none(), server_session_ids), secrets_)
def test_every_token_for_a_session_this_server_made_decodes_back(
    session_id: str, customer_id: str, parent_session_id: str | None, secret: str
) -> None:
    key = TokenKey(session_id, customer_id, parent_session_id)
    token = encode_token(key, secret)
    assert len(token) <= MAX_TOKEN_LENGTH
    assert decode_token(token) == (key, secret)


@settings(max_examples=300, deadline=None)
@given(valid_ids, valid_ids, valid_ids, secrets_)
@example(str(uuid.UUID(int=1)), "中" * MAX_ID_LENGTH, "中" * MAX_ID_LENGTH, "a" * 43)
def test_every_token_the_server_can_issue_decodes_back(
    session_id: str, customer_id: str, parent_session_id: str, secret: str
) -> None:
    key = TokenKey(session_id, customer_id, parent_session_id)
    assert decode_token(encode_token(key, secret)) == (key, secret)


# Node ids.

node_texts = st.one_of(
    st.tuples(st.sampled_from(["Customer:", "Session:", "Nothing:", ""]), st.text()).map("".join),
    st.tuples(
        st.sampled_from(["Session:p", "Session:c", "Session:x", "Session:"]),
        st.lists(tricky_ids, max_size=4),
    ).map(lambda t: "#".join([t[0], *t[1]])),
    st.tuples(st.just("Customer:"), tricky_ids).map("".join),
)
any_node_id = st.one_of(
    st.text(),
    st.text(st.sampled_from("ABCxyz019-_=+/"), max_size=60),
    st.binary().map(_b64),
    node_texts.map(lambda t: _b64(t.encode("utf-8", "surrogatepass"))),
    st.text(min_size=1020, max_size=1100),
)


@settings(max_examples=600, deadline=None)
@given(any_node_id)
@example("")
@example("=")
@example(_b64(b"Session:p#a#b#c"))
@example(_b64(b"Customer:a\xed\xa0\x80"))
def test_any_node_id_decodes_to_valid_ids_or_is_bad_user_input(node_id: str) -> None:
    refused: BadUserInput | None = None
    try:
        ref = decode_global_id(node_id)
    except BadUserInput as error:
        refused = error
    if refused is not None:
        assert refused.message == "id is not a node id issued by this server"
        assert refused.extensions == {"code": "BAD_USER_INPUT"}
        return
    assert isinstance(ref, NodeRef)
    if ref.type_name == "Customer":
        (customer_id,) = ref.ids
        assert validate_id(customer_id) == customer_id
        assert decode_global_id(customer_global_id(customer_id)) == ref
    else:
        kind, first, second = ref.ids
        assert kind in ("p", "c")
        assert validate_id(first) == first
        assert validate_id(second) == second


@settings(max_examples=300, deadline=None)
@given(valid_ids, valid_ids)
def test_every_node_id_the_server_issues_decodes_back(first: str, second: str) -> None:
    assert decode_global_id(customer_global_id(first)) == NodeRef("Customer", (first,))
    parent = record_from_item(parent_session_key(first, second))
    child = record_from_item(child_session_key(first, second))
    assert isinstance(parent, ParentSession)
    assert isinstance(child, ChildSession)
    assert decode_global_id(session_global_id(parent)) == NodeRef("Session", ("p", first, second))
    assert decode_global_id(session_global_id(child)) == NodeRef("Session", ("c", first, second))


# The Authorization header, all the way to the caller (a read for a well-formed token).

latin1_text = st.text(st.characters(max_codepoint=0xFF))
authorizations = st.one_of(
    latin1_text,
    st.tuples(st.sampled_from(["Bearer ", "bearer ", "BEARER  ", "Basic "]), latin1_text).map(
        "".join
    ),
    any_token.filter(lambda t: all(ord(c) <= 0xFF for c in t)).map(lambda t: f"Bearer {t}"),
)


@settings(max_examples=200, deadline=None)
@given(authorizations)
def test_bearer_token_takes_the_token_or_nothing(authorization: str) -> None:
    token = bearer_token(authorization)
    if token is not None:
        assert authorization.lower().startswith("bearer ")
        assert token == authorization[len("bearer ") :].strip()
        assert token


@moto_only
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(authorization=st.one_of(st.none(), authorizations))
@example(authorization=f"Bearer {ADMIN_TOKEN}")
@example(authorization="Bearer " + encode_token(TokenKey(str(uuid.uuid4()), "alice"), "a" * 43))
def test_any_authorization_header_resolves_to_a_caller_or_unauthenticated(
    store, authorization: str | None
) -> None:
    caller, error = resolve_caller(store, authorization, ADMIN_TOKEN)
    if error is not None:
        assert isinstance(caller, Anonymous)
        assert isinstance(error, Unauthenticated)
        assert error.extensions == {"code": "UNAUTHENTICATED"}
    elif authorization == f"Bearer {ADMIN_TOKEN}":
        assert isinstance(caller, Admin)
    else:
        # No session exists in this table: only no header at all is anonymous without error.
        assert isinstance(caller, Anonymous)
        assert not authorization or bearer_token(authorization) is None
