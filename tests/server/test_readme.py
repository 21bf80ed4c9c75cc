"""The README works as written: its curl walk-through runs against a real server, after the
GraphiQL steps and again; its links stay inside the repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.browser import skip_or_fail
from tests.support.servers import ServerProcess

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = [README, *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
PASSWORD = "correct horse battery"


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def _curl_walkthrough() -> str:
    blocks = [b for b in _sh_blocks(README.read_text()) if "gql()" in b]
    assert len(blocks) == 1, "the README's curl walk-through (the block defining gql) is gone"
    return blocks[0]


@pytest.fixture(scope="module")
def server():
    if shutil.which("curl") is None or shutil.which("bash") is None:
        skip_or_fail("curl and bash are needed to run the README's curl block")
    with ServerProcess.start() as started:
        yield started


def _run_block(block: str, url: str) -> list[dict]:
    script = block.replace("URL=http://127.0.0.1:8000/graphql", f"URL={url}", 1)
    assert script != block, "the block no longer sets URL as the quick start serves it"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    answers = [json.loads(line) for line in lines]  # each answer on a line of its own
    for answer in answers:
        assert "errors" not in answer, answer
    return answers


def test_curl_block_works_after_the_graphiql_steps_and_again(server):
    # The GraphiQL steps first, as a reader would: alice registers, logs in, and changes her
    # password (so a block that reused alice would fail to log in).
    server.graphql(
        f'mutation {{ registerCustomer(customerId: "alice", password: "{PASSWORD}") {{ customerId }} }}'
    ).ok()
    token = server.graphql(
        f'mutation {{ login(customerId: "alice", password: "{PASSWORD}") {{ accessToken }} }}'
    ).ok()["login"]["accessToken"]
    server.graphql(
        f'mutation {{ changePassword(currentPassword: "{PASSWORD}", newPassword: "a new passphrase") '
        "{ endedSessionIds } }",
        token=token,
    ).ok()

    block = _curl_walkthrough()
    first = _run_block(block, f"{server.base_url}/graphql")
    second = _run_block(block, f"{server.base_url}/graphql")

    for answers in (first, second):
        registered, child, viewer, logout = answers
        customer_id = registered["data"]["registerCustomer"]["customerId"]
        assert customer_id.startswith("bob-")
        child_id = child["data"]["createChildSession"]["session"]["sessionId"]
        me = viewer["data"]["viewer"]
        assert [e["node"]["sessionId"] for e in me["childSessions"]["edges"]] == [child_id]
        assert [e["node"]["sessionId"] for e in me["customer"]["sessions"]["edges"]] == [
            me["sessionId"]
        ]
        assert logout["data"]["logout"]["endedSessionIds"] == [me["sessionId"], child_id]
    assert (
        first[0]["data"]["registerCustomer"]["customerId"]
        != second[0]["data"]["registerCustomer"]["customerId"]
    )


WRITTEN_BY_OTHER_WORK = {
    "docs/security.md": "security (issue 7)",
    "docs/operations.md": "operations (issue 8)",
}
"""Pages linked from here that other branches add: skipped, with the reason, until they land."""


def _links() -> list[tuple[Path, str, Path]]:
    found = []
    for page in DOCS:
        for target in LINK.findall(page.read_text()):
            path = target.split("#", 1)[0]
            if re.match(r"https?://", target) or not path:
                continue  # the web, or a heading of the same page
            found.append((page, target, (page.parent / path).resolve()))
    return found


OUTSIDE = ("../" + "shared", "DESIGN" + ".md")
"""The starting contract outside the repository (spelled apart so this file does not name it)."""


def test_nothing_in_the_repository_names_the_contract_outside_it():
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    naming = []
    for name in filter(None, tracked):
        path = REPO / name.decode()
        if not path.is_file() or path.is_symlink():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        naming += [f"{name.decode()}: {word}" for word in OUTSIDE if word in text]
    assert naming == [], "the project's own docs are docs/design.md:\n" + "\n".join(naming)


def test_no_page_points_outside_the_repository():
    for page, target, resolved in _links():
        assert resolved.is_relative_to(REPO), f"{page.name}: {target} leaves the repository"


@pytest.mark.parametrize(
    "target", sorted({str(r.relative_to(REPO)) for _, _, r in _links() if r.is_relative_to(REPO)})
)
def test_every_linked_file_exists(target):
    if not (REPO / target).exists() and target in WRITTEN_BY_OTHER_WORK:
        pytest.skip(f"{target} comes with the {WRITTEN_BY_OTHER_WORK[target]} work, not merged yet")
    assert (REPO / target).exists(), f"{target} is linked from the docs but does not exist"


def test_readme_says_where_sessiongraph_is_after_make_run():
    text = README.read_text()
    assert ".venv/bin/sessiongraph" in text and "source .venv/bin/activate" in text


def test_dynamodb_local_command_runs_without_telemetry_outside_the_tracked_tree():
    (block,) = [b for b in _sh_blocks(README.read_text()) if "DynamoDBLocal.jar" in b]
    assert "-disableTelemetry" in block
    # It writes dynamodb-local-metadata.json into its working directory all the same: that
    # directory is .tools/, which git ignores.
    assert "(cd .tools/dynamodb-local && java " in block
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert {".tools", ".tools/"} & set(ignored) and "dynamodb-local-metadata.json" in ignored
