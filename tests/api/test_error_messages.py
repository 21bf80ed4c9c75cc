"""Messages a person can act on, and that are true when they are read."""

from __future__ import annotations

from resolvers.mutations import WRONG_CREDENTIALS


def test_the_first_wrong_password_does_not_say_attempts_failed(api):
    api.register("una")
    result = api(
        'mutation { login(customerId: "una", password: "not the password") { accessToken } }'
    )
    assert result.codes == ["UNAUTHENTICATED"]
    message = result.errors[0]["message"]
    assert message == WRONG_CREDENTIALS
    # True after one failure as after many: it names what may be wrong, and what follows.
    assert "too many" not in message
    assert "customerId or password is wrong" in message
    assert "paused" in message
