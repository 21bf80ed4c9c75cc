from dynamo.sessions import create_session, get_session_by_session_id


def test_create_and_read(store, calls):
    s = create_session(store, "alice", token_hash="h")
    calls.reset()
    got = get_session_by_session_id(store, s.session_id, "alice")
    assert got == s
    assert calls.counts == {"GetItem": 1}
