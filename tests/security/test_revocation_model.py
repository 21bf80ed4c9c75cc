"""A stateful property test (hypothesis `RuleBasedStateMachine`) of revocation, through the API.

Interleaved logins, child sessions, logouts, logoutAlls, password changes and token checks,
against a model of which sessions are alive: a token works exactly when the model says its
session is alive. The session cap is on (3), so logins end the oldest others too.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from hypothesis import settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)
from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from dynamo.store import SessionPolicy, Store
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api

CAP = 3
EXAMPLES = {"moto": 25, "dynamodb_local": 6}
STEPS = 20
_customers = itertools.count()

VIEWER = "{ viewer { sessionId } }"
LOGIN = (
    "mutation($c: String!, $p: String) "
    "{ login(customerId: $c, password: $p) { accessToken session { sessionId } } }"
)
CHILD = 'mutation { createChildSession(client: "app") { accessToken session { sessionId } } }'
LOGOUT = "mutation { logout { endedSessionIds } }"
LOGOUT_ALL = "mutation { logoutAll { endedSessionIds } }"
CHANGE = (
    "mutation($c: String!, $n: String!) "
    "{ changePassword(currentPassword: $c, newPassword: $n) { endedSessionIds } }"
)


@dataclasses.dataclass
class Modelled:
    token: str
    parent: str | None  # None for a parent session
    order: int
    alive: bool = True


class RevocationModel(RuleBasedStateMachine):
    api: Api

    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.customer = f"model{next(_customers)}"
        self.password = "first password!"
        self.model: dict[str, Modelled] = {}
        self.order = itertools.count()

    # the model ---------------------------------------------------------------------------

    def _end(self, session_id: str) -> None:
        self.model[session_id].alive = False
        for other in self.model.values():
            if other.parent == session_id:
                other.alive = False

    def _apply_cap(self, new_id: str) -> None:
        live = [
            sid for sid, s in self.model.items() if s.alive and s.parent is None and sid != new_id
        ]
        live.sort(key=lambda sid: self.model[sid].order, reverse=True)
        for sid in live[CAP - 1 :]:
            self._end(sid)

    def _expect(self, result: Any, code: str | None) -> Any:
        if code is None:
            return result.ok()
        assert result.codes == [code], result.body
        return None

    def _refusal(self, session_id: str, *, parent_only: bool) -> str | None:
        """The error a token gets for a field that needs a live (parent) session."""
        session = self.model[session_id]
        if not session.alive:
            return "UNAUTHENTICATED"
        if parent_only and session.parent is not None:
            return "FORBIDDEN"
        return None

    # the rules ---------------------------------------------------------------------------

    @initialize(target=sessions)
    def register_and_login(self) -> str:
        self.api.register(self.customer, self.password)
        return self.login()

    @rule(target=sessions)
    def login(self) -> str:
        data = self.api(LOGIN, {"c": self.customer, "p": self.password}).ok()["login"]
        session_id = data["session"]["sessionId"]
        self.model[session_id] = Modelled(data["accessToken"], None, next(self.order))
        self._apply_cap(session_id)
        return session_id

    @rule(target=sessions, of=sessions)
    def create_child(self, of: str) -> Any:
        refusal = self._refusal(of, parent_only=True)
        data = self._expect(self.api(CHILD, token=self.model[of].token), refusal)
        if data is None:
            return multiple()
        child = data["createChildSession"]
        self.model[child["session"]["sessionId"]] = Modelled(
            child["accessToken"], of, next(self.order)
        )
        return child["session"]["sessionId"]

    @rule(session=sessions)
    def logout(self, session: str) -> None:
        refusal = self._refusal(session, parent_only=False)
        if self._expect(self.api(LOGOUT, token=self.model[session].token), refusal) is not None:
            self._end(session)

    @rule(session=sessions)
    def logout_all(self, session: str) -> None:
        refusal = self._refusal(session, parent_only=True)
        if self._expect(self.api(LOGOUT_ALL, token=self.model[session].token), refusal) is not None:
            for sid in self.model:
                self._end(sid)

    @rule(session=sessions)
    def change_password(self, session: str) -> None:
        refusal = self._refusal(session, parent_only=True)
        new = f"password number {next(self.order)}"
        result = self.api(CHANGE, {"c": self.password, "n": new}, token=self.model[session].token)
        if self._expect(result, refusal) is not None:
            self.password = new
            for sid in self.model:
                if sid != session:
                    self._end(sid)
            self.model[session].alive = True

    @rule(session=sessions)
    def check(self, session: str) -> None:
        result = self.api(VIEWER, token=self.model[session].token)
        if self.model[session].alive:
            assert result.ok() == {"viewer": {"sessionId": session}}
        else:
            assert result.codes == ["UNAUTHENTICATED"], result.body

    @rule()
    def check_every_token(self) -> None:
        for session_id in self.model:
            self.check(session_id)


def test_a_token_works_exactly_when_the_model_says_its_session_is_alive(
    store: Store, backend: str
) -> None:
    capped = dataclasses.replace(store, policy=SessionPolicy(max_sessions_per_customer=CAP))
    runner = BlockingCallRunner(1)
    try:
        app = create_app(Settings(admin_token=ADMIN_TOKEN), Services(store=capped, runner=runner))
        with TestClient(app, client=CLIENT_ADDRESS) as client:
            RevocationModel.api = Api(client)
            run_state_machine_as_test(
                RevocationModel,
                settings=settings(
                    max_examples=EXAMPLES[backend],
                    stateful_step_count=STEPS,
                    deadline=None,
                    database=None,
                ),
            )
    finally:
        runner.close()
