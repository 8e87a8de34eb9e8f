/**
 * The bridge against its TLS cloud stand-in (bridge.test.ts) under Bun, whose link and probe then
 * connect with Bun.connect as in the x64/arm64 binaries: mutual TLS, the failures `connect --test`
 * names (Bun reports TLS alerts differently from Node), uplink and downlink per cloud.
 */
import { itUnderBun, passedAll } from "../helpers/bun-suite.ts";

itUnderBun(
  "the bridge's TLS stand-in suite passes under Bun (the link and probe on Bun.connect)",
  "./test/bridge/bridge.test.ts",
  passedAll(/another CA is refused/, /probe names what it proved/, /commands come back/),
);
