def test_life(api):
    api.register("alice")
    token, sid = api.login("alice")
    r = api("{ viewer { sessionId state isChild customer { customerId lastLoginTime } ipAddress } }", token=token).ok()
    assert r["viewer"]["sessionId"] == sid
    ctoken, cid = api.child(token)
    r = api("{ viewer { sessionId isChild parent { sessionId childSessions { edges { node { sessionId } } } } } }", token=ctoken).ok()
    print(r)
    r = api("mutation { logout { endedSessionIds } }", token=token).ok()
    print(r)
    assert api("{ viewer { sessionId } }", token=ctoken).codes == ["UNAUTHENTICATED"]
