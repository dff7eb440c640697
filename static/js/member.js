// The member's place in the header of a store with a points programme
// (the edge loads this module only there): the development sign-in
// (`POST /v1/points/dev-token`, on only where the deployment allows it,
// e.g. `npm start`), then the member, their balance (`GET /v1/points`) and
// a sign-out. The token stays in this tab (sessionStorage).
import { $, ApiError, api, count, forgetMember, h, memberPoints, memberSession, points, report, saveMember } from './shop.js';

const root = $('#member');
const DEMO_MEMBER = 'demo-member';
/** Set once the deployment said its development sign-in is off. */
const OFF = 'edgecart.dev-sign-in-off';

function signedOut() {
  if (sessionStorage.getItem(OFF)) {
    root.replaceChildren();
    root.hidden = true;
    return;
  }
  root.hidden = false;
  root.replaceChildren(h('button', { type: 'button', id: 'member-sign-in', text: 'Sign in as the demo member', onclick: signIn }));
}

async function signIn(event) {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const { body } = await api('POST', '/v1/points/dev-token', { body: { member: DEMO_MEMBER } });
    saveMember(body); // redraws (edgecart:member)
    $('#member-sign-out')?.focus();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'dev_sign_in_off') {
      // No demo sign-in on this deployment: members sign in on the operator's site.
      sessionStorage.setItem(OFF, '1');
      button.textContent = 'Demo sign-in is off';
      return;
    }
    button.disabled = false;
    report(e, () => button.click());
  }
}

function balanceText(b) {
  // Earned points still in their return window are shown apart: not spendable yet.
  return b.pending > 0 ? `${points(b.available)} (+${count(b.pending)} pending)` : points(b.available);
}

async function draw() {
  const session = memberSession();
  if (!session) return signedOut();
  root.hidden = false;
  const balance = h('span', { id: 'member-balance', class: 'member-balance', text: '…' });
  root.replaceChildren(
    h('span', { class: 'sr-only', text: 'Signed in as ' }),
    h('span', { id: 'member-name', class: 'member-name', text: session.member }),
    h('span', { class: 'sr-only', text: ', balance ' }),
    balance,
    h('button', {
      type: 'button',
      class: 'link',
      id: 'member-sign-out',
      text: 'Sign out',
      onclick: () => {
        forgetMember(); // redraws
        $('#member-sign-in')?.focus();
      },
    }),
  );
  try {
    const account = await memberPoints();
    if (account && balance.isConnected) balance.textContent = balanceText(account.balance);
  } catch {
    if (balance.isConnected) balance.textContent = 'balance unavailable';
  }
}

document.addEventListener('edgecart:member', draw);
draw();
