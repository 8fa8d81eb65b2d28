// The customer's live dashboard: signs in at the system of record, then follows the gateway's
// live feed (protocol: docs/live-feed-protocol.md). No build step, no framework.
"use strict";

const TOKEN_KEY = "liveBank.token";
const MOVEMENTS_SHOWN = 5;
const SPARK_POINTS = 30;
const CLIENT_PING_MS = 15000;
const SILENCE_LIMIT_MS = 45000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000];
const SIGN_IN_AGAIN = new Set([4001, 4002, 4003]);
// Closes by a limit of the gateway (docs/live-feed-protocol.md, "Limits"): wait longer first.
const LIMITED = { 4013: "Too many windows open", 4029: "Too many requests" };
// Staff see one page of the accounts at a time (a `find` of the live feed), never all of them.
const STAFF_PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 300;

const $ = (selector) => document.querySelector(selector);
const accounts = new Map(); // iban -> {state, history, card}
let config = null;
let feed = null;
// When the last message of a live feed arrived: what the cards show once it has dropped.
let lastUpdate = null;
// The staff view's search: what is asked for, and the IBANs of the page on screen.
const staff = { active: false, query: "", page: 1, pages: 1, total: 0, shown: new Set() };

// ---------------------------------------------------------------- money and time
// ISO 4217 exponents of the bank's currencies, from the gateway's config.json (events/money.py):
// the browser's own table (CLDR) differs for some currencies, and a second table is how an
// amount comes to be shown a hundred times too large.
let currencyExponents = {};

function useCurrencyExponents(table) {
  currencyExponents = table || {};
}

// The amount in major units as exact decimal text ("-1234.56"), never through a float.
function majorUnits(minor, digits) {
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(minor)).padStart(digits + 1, "0");
  return digits === 0
    ? `${sign}${text}`
    : `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

function formatMoney(minor, currency, signed = false, locale = undefined) {
  const digits = currencyExponents[currency];
  if (!Number.isInteger(digits)) {
    // As events/money.py's readable(): an unknown currency stays in minor units and says so.
    return `${signed && minor > 0 ? "+" : ""}${minor} ${currency} (minor units)`;
  }
  try {
    // Intl reads a string as an exact decimal.
    return new Intl.NumberFormat(locale, {
      style: "currency", currency,
      minimumFractionDigits: digits, maximumFractionDigits: digits,
      signDisplay: signed ? "always" : "auto",
    }).format(majorUnits(minor, digits));
  } catch {
    return `${signed && minor > 0 ? "+" : ""}${majorUnits(minor, digits)} ${currency}`;
  }
}

function formatTime(ms) {
  const when = new Date(ms);
  return new Date().toDateString() === when.toDateString()
    ? when.toLocaleTimeString()
    : when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function formatWhen(ms) {
  const when = new Date(ms);
  const today = new Date().toDateString() === when.toDateString();
  return today
    ? `Today, ${when.toLocaleTimeString()}`
    : when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// ---------------------------------------------------------------- rendering
function cardFor(iban) {
  let account = accounts.get(iban);
  if (!account) {
    const card = $("#account-card").content.firstElementChild.cloneNode(true);
    card.dataset.account = iban;
    card.querySelector(".iban").textContent = iban.replace(/(.{4})/g, "$1 ").trim();
    card.querySelector(".balance").dataset.iban = iban;
    account = { state: null, history: [], card, expanded: new Set() };
    accounts.set(iban, account);
    const list = $("#accounts");
    const after = [...list.children].find((other) => other.dataset.account > iban);
    list.insertBefore(card, after || null);
  }
  return account;
}

function render(account, { newest = null } = {}) {
  const { state, card } = account;
  const balance = card.querySelector(".balance");
  balance.dataset.balance = String(state.balance);
  balance.textContent = formatMoney(state.balance, state.currency);
  balance.classList.toggle("negative", state.balance < 0);
  card.querySelector(".currency").textContent = `${state.currency} · updated ${formatWhen(state.updated_at)}`;
  const status = card.querySelector(".status");
  status.textContent = state.status;
  status.dataset.status = state.status;
  renderSparkline(account);
  renderMovements(account, newest);
  showNoAccounts();
}

function showNoAccounts() {
  const none = $("#no-accounts");
  none.textContent = staff.active
    ? (staff.query ? `No account matches “${staff.query}”.` : "The bank has no accounts yet.")
    : "You have no accounts to show yet.";
  none.hidden = accounts.size > 0;
}

function renderSparkline({ state, history, card }) {
  const points = history.slice(-SPARK_POINTS).map((event) => event.new_balance);
  if (history.length) points.unshift(history[Math.max(0, history.length - SPARK_POINTS)].old_balance);
  if (points.length === 0 || points[points.length - 1] !== state.balance) points.push(state.balance);
  if (points.length === 1) points.push(points[0]);
  const low = Math.min(...points);
  const high = Math.max(...points);
  const span = high - low || 1;
  const xy = points.map((value, index) => [
    (index / (points.length - 1)) * 300,
    56 - ((value - low) / span) * 52,
  ]);
  const line = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  card.querySelector(".line").setAttribute("points", line);
  card.querySelector(".area").setAttribute("d", `M0,60 L${line.replaceAll(" ", " L")} L300,60 Z`);
}

function renderMovements(account, newest) {
  const { state, history, card } = account;
  const list = card.querySelector(".movements");
  list.replaceChildren();
  const recent = history.slice(-MOVEMENTS_SHOWN).reverse();
  if (recent.length === 0) {
    const none = document.createElement("li");
    none.className = "none";
    none.textContent = "No movements yet.";
    list.append(none);
    return;
  }
  for (const event of recent) {
    const item = document.createElement("li");
    if (newest && event.sequence === newest) item.className = "new";
    const reason = document.createElement("span");
    reason.className = "reason";
    reason.textContent = event.reason || describeKind(event.kind);
    // A long reason shows in one line; its title, or a tap or Enter, shows all of it.
    reason.title = reason.textContent;
    reason.tabIndex = 0;
    reason.dataset.sequence = String(event.sequence);
    const expanded = account.expanded.has(event.sequence);
    reason.classList.toggle("expanded", expanded);
    reason.setAttribute("aria-expanded", String(expanded));
    const amount = document.createElement("span");
    amount.className = `amount ${event.delta < 0 ? "debit" : "credit"}`;
    amount.textContent = formatMoney(event.delta, state.currency, true);
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = formatWhen(event.committed_at);
    item.append(reason, amount, when);
    list.append(item);
  }
}

function describeKind(kind) {
  const names = {
    deposit: "Deposit", withdrawal: "Withdrawal", transfer_in: "Incoming transfer",
    transfer_out: "Outgoing transfer", adjustment: "Adjustment", opening: "Account opened",
  };
  return names[kind] || "Balance change";
}

function flash(account, delta) {
  const element = account.card.querySelector(".flash");
  element.textContent = formatMoney(delta, account.state.currency, true);
  element.className = `flash ${delta < 0 ? "debit" : "credit"}`;
  void element.offsetWidth; // restart the animation on every change
  element.classList.add("show");
  account.card.classList.add("changed");
  clearTimeout(account.flashTimer);
  account.flashTimer = setTimeout(() => account.card.classList.remove("changed"), 3500);
}

function notify(title, text, kind = "alert") {
  const note = document.createElement("div");
  note.className = `notification ${kind}`;
  note.setAttribute("role", kind === "alert" ? "alert" : "status");
  const heading = document.createElement("strong");
  heading.textContent = title;
  note.append(heading, document.createTextNode(text));
  $("#notifications").append(note);
  setTimeout(() => note.remove(), 8000);
}

function toggleReason(reason) {
  const card = reason.closest(".card");
  const account = card && accounts.get(card.dataset.account);
  if (!account) return;
  const sequence = Number(reason.dataset.sequence);
  const expanded = !account.expanded.has(sequence);
  if (expanded) account.expanded.add(sequence);
  else account.expanded.delete(sequence);
  reason.classList.toggle("expanded", expanded);
  reason.setAttribute("aria-expanded", String(expanded));
}

function setConnection(state, label) {
  const indicator = $("#connection");
  indicator.dataset.state = state;
  indicator.querySelector(".label").textContent = label;
}

// The feed dropped: the balances stay, greyed and dated, until it is back.
function showOffline(retryAt) {
  const banner = $("#offline");
  banner.hidden = false;
  banner.dataset.retryAt = String(retryAt);
  const asOf = lastUpdate === null ? "" : `as of ${formatTime(lastUpdate)}`;
  $("#offline-as-of").textContent = asOf ? `Balances ${asOf}.` : "";
  for (const { card } of accounts.values()) {
    card.classList.add("stale");
    const mark = card.querySelector(".as-of");
    mark.textContent = asOf;
    mark.hidden = !asOf;
  }
}

function showLive() {
  $("#offline").hidden = true;
  for (const { card } of accounts.values()) {
    card.classList.remove("stale");
    card.querySelector(".as-of").hidden = true;
  }
}

// ---------------------------------------------------------------- feed messages
// The gateway's public messages (soe/messages.py); a movement is a balance_changed without its
// type, replayed and sent_at.
const handlers = {
  welcome(message, socket) {
    staff.active = message.scope === "feed:all";
    $("#staff-tools").hidden = !staff.active;
    $("#title").textContent = staff.active ? "Accounts" : "Your accounts";
    $("#subtitle").textContent = staff.active
      ? `Staff view: find any account, ${STAFF_PAGE_SIZE} to a page`
      : "Balances update live as your bank books them.";
    if (staff.active) socket.find();
    else socket.subscribe();
  },
  found(message, socket) {
    if (message.query !== staff.query || message.page !== staff.page) return; // an older search
    staff.total = message.total;
    staff.pages = Math.max(1, Math.ceil(message.total / message.page_size));
    staff.shown = new Set(message.accounts);
    const leaving = [...accounts.keys()].filter((iban) => !staff.shown.has(iban));
    if (leaving.length) socket.send({ type: "unsubscribe", accounts: leaving });
    for (const iban of leaving) {
      accounts.get(iban).card.remove();
      accounts.delete(iban);
    }
    renderPager();
    socket.subscribe(message.accounts);
  },
  snapshot(message) {
    if (staff.active && !staff.shown.has(message.iban)) return; // of a page left meanwhile
    const account = cardFor(message.iban);
    account.state = message;
    account.history = message.history.slice();
    render(account);
  },
  balance_changed(message, socket) {
    const account = accounts.get(message.iban);
    if (!account || !account.state) return;
    if (message.sequence <= account.state.sequence) return; // already shown
    if (message.sequence !== account.state.sequence + 1) {
      socket.resync(message.iban); // a gap: ask for what is missing
      return;
    }
    account.state = {
      ...account.state,
      balance: message.new_balance,
      sequence: message.sequence,
      updated_at: message.committed_at,
    };
    account.history.push(message);
    account.history = account.history.slice(-Math.max(SPARK_POINTS, MOVEMENTS_SHOWN));
    render(account, { newest: message.sequence });
    if (!message.replayed) flash(account, message.delta);
  },
  account(message) {
    const account = accounts.get(message.iban);
    if (!account) return;
    account.state = { ...account.state, ...message };
    render(account);
  },
  account_removed(message) {
    const account = accounts.get(message.iban);
    if (account) account.card.remove();
    accounts.delete(message.iban);
    showNoAccounts();
  },
  alert(message) {
    notify(alertTitle(message.kind), `${message.message} (${message.iban})`);
  },
  subscribed() {
    setConnection("live", "Live");
    showLive();
    showNoAccounts();
  },
  ping(message, socket) {
    socket.send({ type: "pong", ts: message.ts });
  },
  pong() {},
  unsubscribed() {},
  error(message) {
    console.warn("live feed:", message.code, message.message);
  },
};

function alertTitle(kind) {
  return {
    low_balance: "Low balance", overdraft_entered: "Overdraft",
    large_movement: "Large movement", account_frozen: "Account frozen",
  }[kind] || "Notice";
}

// ---------------------------------------------------------------- the connection
class Feed {
  constructor(token) {
    this.token = token;
    this.attempt = 0;
    this.stopped = false;
    this.connect();
  }

  connect() {
    setConnection("connecting", this.attempt ? "Reconnecting…" : "Connecting…");
    const url = new URL(config.feed_path, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    this.ws = ws;
    this.live = false;
    ws.onopen = () => {
      this.heard = Date.now();
      this.send({ type: "auth", token: this.token });
      this.timer = setInterval(() => this.keepAlive(), CLIENT_PING_MS / 3);
    };
    ws.onmessage = (event) => {
      this.heard = Date.now();
      const message = JSON.parse(event.data);
      if (message.type === "subscribed") {
        this.attempt = 0;
        this.live = true;
      }
      if (this.live) lastUpdate = this.heard;
      const handle = handlers[message.type];
      if (handle) handle(message, this);
    };
    ws.onclose = (event) => this.closed(event);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  // A customer follows all of their own accounts; staff name the accounts of the page shown.
  subscribe(ibans = null) {
    const resume = {};
    for (const [iban, account] of accounts) {
      if (account.state) resume[iban] = account.state.sequence;
    }
    this.send(ibans ? { type: "subscribe", accounts: ibans, resume } : { type: "subscribe", resume });
  }

  find() {
    this.send({ type: "find", query: staff.query, page: staff.page, page_size: STAFF_PAGE_SIZE });
  }

  // "Retry now": skip the rest of the backoff, unless an attempt is already under way.
  retryNow() {
    if (this.stopped || (this.ws && this.ws.readyState !== WebSocket.CLOSED)) return;
    clearTimeout(this.retry);
    this.connect();
  }

  resync(iban) {
    const account = accounts.get(iban);
    this.send({ type: "subscribe", accounts: [iban], resume: { [iban]: account.state.sequence } });
  }

  keepAlive() {
    if (Date.now() - this.heard > SILENCE_LIMIT_MS) {
      this.ws.close(4000, "the gateway went silent");
      return;
    }
    if (!this.lastPing || Date.now() - this.lastPing >= CLIENT_PING_MS) {
      this.lastPing = Date.now();
      this.send({ type: "ping", ts: this.lastPing });
    }
  }

  closed(event) {
    clearInterval(this.timer);
    if (this.stopped) return;
    if (SIGN_IN_AGAIN.has(event.code)) {
      signOut(event.code === 4003 ? "Your session has ended. Please sign in again." : "Please sign in again.");
      return;
    }
    if (LIMITED[event.code]) this.attempt = Math.max(this.attempt, 4);
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    const why = LIMITED[event.code] || "Offline";
    setConnection("offline", `${why}, retrying in ${Math.round(delay / 1000) || 1} s`);
    const wait = delay * (0.8 + Math.random() * 0.4);
    showOffline(Date.now() + wait);
    this.retry = setTimeout(() => this.connect(), wait);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.timer);
    if (this.ws) this.ws.close(1000, "signed out");
  }
}

// ---------------------------------------------------------------- the staff view
function search() {
  clearTimeout(staff.typing);
  const query = $("#staff-query").value.trim();
  if (query === staff.query && staff.page === 1) return;
  staff.query = query;
  staff.page = 1;
  if (feed) feed.find();
}

function turnPage(step) {
  const page = staff.page + step;
  if (page < 1 || page > staff.pages) return;
  staff.page = page;
  renderPager();
  if (feed) feed.find();
}

function renderPager() {
  const count = staff.total === 1 ? "1 account" : `${staff.total.toLocaleString()} accounts`;
  $("#page-info").textContent = `Page ${staff.page} of ${staff.pages} · ${count}`;
  $("#page-previous").disabled = staff.page <= 1;
  $("#page-next").disabled = staff.page >= staff.pages;
}

// ---------------------------------------------------------------- signing in and out
function showSignIn(message) {
  $("#dashboard").hidden = true;
  $("#sign-out").hidden = true;
  $("#sign-in").hidden = false;
  const error = $("#sign-in-error");
  error.textContent = message || "";
  error.hidden = !message;
  setConnection("offline", "Signed out");
  $("#offline").hidden = true;
}

function showDashboard(token) {
  $("#sign-in").hidden = true;
  $("#dashboard").hidden = false;
  $("#sign-out").hidden = false;
  feed = new Feed(token);
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (feed) feed.stop();
  feed = null;
  accounts.clear();
  lastUpdate = null;
  Object.assign(staff, { active: false, query: "", page: 1, pages: 1, total: 0, shown: new Set() });
  $("#staff-query").value = "";
  $("#staff-tools").hidden = true;
  $("#accounts").replaceChildren();
  showSignIn(message);
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch(config.token_url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: form.username.value, password: form.password.value }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || !body.token) {
      showSignIn(body.detail || "The username or password is not right.");
      return;
    }
    form.password.value = "";
    sessionStorage.setItem(TOKEN_KEY, body.token);
    showDashboard(body.token);
  } catch {
    showSignIn("The bank cannot be reached right now. Please try again.");
  } finally {
    button.disabled = false;
  }
}

function tokenStillValid(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims.exp * 1000 > Date.now();
  } catch {
    return false;
  }
}

async function start() {
  config = await (await fetch("config.json")).json();
  useCurrencyExponents(config.currency_exponents);
  $("#sign-in-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", () => signOut());
  $("#retry-now").addEventListener("click", () => feed && feed.retryNow());
  $("#accounts").addEventListener("click", (event) => {
    const reason = event.target.closest(".reason");
    if (reason) toggleReason(reason);
  });
  $("#accounts").addEventListener("keydown", (event) => {
    const reason = event.target.closest(".reason");
    if (reason && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggleReason(reason);
    }
  });
  $("#staff-search").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  $("#staff-query").addEventListener("input", () => {
    clearTimeout(staff.typing);
    staff.typing = setTimeout(search, SEARCH_DELAY_MS);
  });
  $("#page-previous").addEventListener("click", () => turnPage(-1));
  $("#page-next").addEventListener("click", () => turnPage(1));
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token && tokenStillValid(token)) showDashboard(token);
  else signOut();
}

start();
