/** bench/mail.ts reads postfix's log: which deliveries went to a peer, which were at home. */
import { forwarded } from "../bench/mail";

test("a delivery to a peer's [address]:24 is forwarded; one into the home's own dovecot socket is not", () => {
  const line = (relay: string) => `2026-12-06T20:38:27.065294+00:00 lab1 postfix/rplan-lmtp/lmtp[21415]: A170917213F: to=<*@lab.rplan.test>, relay=${relay}, delay=4.4, delays=3.7/0.28/0.19/0.25, dsn=2.0.0, status=sent (250 2.0.0 <*@lab.rplan.test> x Saved)`;
  expect(forwarded(line("lab2.lab.rplan.test[0.0.0.0]:24"))).toBe(true);
  expect(forwarded(line("198.18.0.12[0.0.0.0]:24"))).toBe(true);
  expect(forwarded(line("lab1.lab.rplan.test[/run/dovecot/lmtp-postfix]"))).toBe(false);
  expect(forwarded(line("lab1.lab.rplan.test[private/dovecot-lmtp]"))).toBe(false);
});
