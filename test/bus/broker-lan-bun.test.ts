/**
 * The LAN listener's TLS tests (broker-lan.test.ts) under Bun, whose broker then listens with
 * Bun.listen as in the x64/arm64 binaries: a wrong client certificate, a client certificate accepted,
 * the password file and the ACL, on the socket layer's second implementation.
 */
import { itUnderBun, passedAll } from "../helpers/bun-suite.ts";

itUnderBun(
  "the LAN listener's TLS, certificate and password checks pass under Bun (Bun.listen)",
  "./test/bus/broker-lan.test.ts",
  passedAll(/wrong password/, /another CA is refused/, /the ACL/, /README's example/),
);
