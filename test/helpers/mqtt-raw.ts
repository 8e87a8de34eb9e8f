import { type Socket, connect as tcp } from "node:net";
import { Decoder, encode, type Packet } from "../../src/bus/mqtt/index.ts";

export interface Raw {
  sock: Socket;
  got: Packet[];
  closed: boolean;
  send(p: Packet): void;
}

/** A bare socket speaking the codec: cheap enough for 1,000 connections, and able to misbehave. */
export async function rawClient(port: number): Promise<Raw> {
  const sock = tcp({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  const decoder = new Decoder({ version: 4 });
  const r: Raw = { sock, got: [], closed: false, send: (p) => sock.write(encode(p, 4)) };
  sock.on("data", (d) => {
    const { packets } = decoder.push(d);
    for (const p of packets) if (p.type !== "publish" || r.got.length < 10) r.got.push(p);
  });
  sock.on("close", () => {
    r.closed = true;
  });
  sock.on("error", () => {});
  return r;
}
