// sessiongraph's sample frontend: cookie mode (the session lives in an HttpOnly cookie that this
// script never sees), the customer's sessions, child sessions, and a banner when this session is
// ended from elsewhere (the `sessionEnded` subscription over graphql-ws). No build step.

const GRAPHQL_URL = "/graphql";
const WS_URL = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`;

const VIEWER = `{
  viewer {
    sessionId
    customer {
      customerId
      sessions(first: 50) {
        edges { node {
          sessionId userAgent ipAddress lastAccessTime createdAt
          childSessions(first: 20) { edges { node { sessionId client createdAt } } }
        } }
      }
    }
  }
}`;
const LOGIN = `mutation($customerId: String!, $password: String!) {
  loginWithCookie(customerId: $customerId, password: $password) { session { sessionId } }
}`;
const REGISTER = `mutation($customerId: String!, $password: String!) {
  registerCustomer(customerId: $customerId, password: $password) { customerId }
}`;
const LOGOUT = `mutation($sessionId: String) { logout(sessionId: $sessionId) { endedSessionIds } }`;
const LOGOUT_ALL = `mutation { logoutAll { endedSessionIds } }`;
const CREATE_CHILD = `mutation($client: String!) {
  createChildSession(client: $client) { session { sessionId client } }
}`;
const SESSION_ENDED = `subscription { sessionEnded { sessionId reason } }`;

const REASONS = {
  LOGOUT: "it was logged out from another device",
  LOGOUT_ALL: "all sessions of this account were logged out",
  PASSWORD_CHANGED: "the password was changed",
  PARENT_ENDED: "its parent session ended",
  EXPIRED: "it expired",
};

const $ = (id) => document.getElementById(id);
let current = null; // { sessionId, customerId } while signed in
let live = null; // the graphql-ws client while signed in

/** POST a GraphQL operation; the browser adds the session cookie (same origin). */
async function graphql(query, variables = {}) {
  const response = await fetch(GRAPHQL_URL, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  try {
    return await response.json();
  } catch {
    return { errors: [{ message: `the server answered HTTP ${response.status}` }] };
  }
}

function firstError(result) {
  return result.errors && result.errors.length ? result.errors[0].message : null;
}

function setBanner(text) {
  $("banner").textContent = text || "";
  $("banner").hidden = !text;
}

function setLive(text) {
  $("live").textContent = `Live updates: ${text}`;
}

// --- signed out ----------------------------------------------------------------------------

function showSignIn(message = "") {
  stopLive();
  current = null;
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
  $("form-message").textContent = message;
  $("password").value = "";
  $("customer-id").focus();
}

async function signIn(register) {
  const customerId = $("customer-id").value.trim();
  const password = $("password").value;
  if (!customerId || !password) {
    $("form-message").textContent = "Type a customer id and a password.";
    return;
  }
  $("form-message").textContent = register ? "Registering…" : "Signing in…";
  if (register) {
    const registered = await graphql(REGISTER, { customerId, password });
    if (firstError(registered)) {
      $("form-message").textContent = firstError(registered);
      return;
    }
  }
  const login = await graphql(LOGIN, { customerId, password });
  if (firstError(login)) {
    $("form-message").textContent = firstError(login);
    return;
  }
  setBanner("");
  await showSession();
}

// --- signed in -----------------------------------------------------------------------------

async function showSession() {
  const result = await graphql(VIEWER);
  const viewer = result.data && result.data.viewer;
  if (!viewer) {
    if (current) sessionEnded(null); // ended while we were away: the server refused the cookie
    else showSignIn();
    return;
  }
  const first = current === null;
  current = { sessionId: viewer.sessionId, customerId: viewer.customer.customerId };
  $("customer-name").textContent = current.customerId;
  renderSessions(viewer.customer.sessions.edges.map((edge) => edge.node));
  $("signed-out").hidden = true;
  $("signed-in").hidden = false;
  if (first) startLive();
}

function renderSessions(sessions) {
  const list = $("sessions");
  list.replaceChildren(
    ...sessions.map((session) => {
      const item = element("li", { class: "session" });
      const thisDevice = session.sessionId === current.sessionId;
      if (thisDevice) item.classList.add("this-device");
      const title = element("p", { class: "device" }, [
        element("strong", {}, [session.userAgent || "unknown device"]),
        thisDevice ? element("span", { class: "badge" }, ["this device"]) : "",
      ]);
      const details = element("p", { class: "details" }, [
        `IP ${session.ipAddress || "unknown"} · last access ${when(session.lastAccessTime)} · `,
        element("code", {}, [session.sessionId]),
      ]);
      const logout = button("Log out", `Log out session ${session.sessionId}`, () =>
        endSession(session.sessionId),
      );
      item.append(title, details, logout);
      const children = session.childSessions.edges.map((edge) => edge.node);
      if (children.length) {
        const nested = element("ul", { class: "children", "aria-label": "Child sessions" });
        for (const child of children) {
          nested.append(
            element("li", { class: "child" }, [
              `App ${child.client} · created ${when(child.createdAt)} · `,
              element("code", {}, [child.sessionId]),
              " ",
              button("Log out", `Log out session ${child.sessionId}`, () =>
                endSession(child.sessionId),
              ),
            ]),
          );
        }
        item.append(nested);
      }
      return item;
    }),
  );
}

async function endSession(sessionId) {
  const ownSession = sessionId === current.sessionId;
  if (ownSession) stopLive(); // our own logout is no news to us
  const result = await graphql(LOGOUT, { sessionId });
  if (firstError(result)) {
    setBanner(firstError(result));
    return;
  }
  if (ownSession) showSignIn("You logged out.");
  else await showSession();
}

async function logoutEverywhere() {
  stopLive();
  const result = await graphql(LOGOUT_ALL);
  if (firstError(result)) setBanner(firstError(result));
  showSignIn("You logged out on every device.");
}

async function createChild(event) {
  event.preventDefault();
  const client = $("child-app").value.trim();
  if (!client) return;
  const result = await graphql(CREATE_CHILD, { client });
  if (firstError(result)) {
    setBanner(firstError(result));
    return;
  }
  $("child-app").value = "";
  await showSession();
}

// --- live: this session ended elsewhere ----------------------------------------------------

function startLive() {
  if (!window.graphqlWs) {
    setLive("unavailable (graphql-ws is not installed: run `make assets`)");
    return;
  }
  // No connectionParams: with no Authorization there, the server reads the session cookie,
  // which the browser sends with the upgrade (same origin).
  const client = window.graphqlWs.createClient({
    url: WS_URL,
    retryAttempts: 5,
    on: {
      connected: () => setLive("connected"),
      closed: (event) => {
        if (live !== client) return;
        if (event && event.code === 4401) sessionEnded(null); // refused: the session is over
        else setLive("reconnecting…");
      },
    },
  });
  live = client;
  setLive("connecting…");
  client.subscribe(
    { query: SESSION_ENDED },
    {
      next: ({ data }) => sessionEnded(data && data.sessionEnded && data.sessionEnded.reason),
      error: () => live === client && setLive("unavailable"),
      complete: () => {},
    },
  );
}

function stopLive() {
  const client = live;
  live = null;
  if (client) client.dispose();
  setLive("off");
}

function sessionEnded(reason) {
  if (!current) return;
  const why = REASONS[reason] || "it is no longer valid";
  setBanner(`Your session has ended: ${why}. Sign in again to continue.`);
  showSignIn();
}

// --- small DOM helpers ---------------------------------------------------------------------

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function button(text, label, onClick) {
  const node = element("button", { type: "button", "aria-label": label }, [text]);
  node.addEventListener("click", onClick);
  return node;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

// --- wiring --------------------------------------------------------------------------------

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn(false);
});
$("register").addEventListener("click", () => signIn(true));
$("logout-everywhere").addEventListener("click", logoutEverywhere);
$("refresh").addEventListener("click", showSession);
$("child-form").addEventListener("submit", createChild);
showSession();
