/** Active alarms, recent events, te/errors and commands (in flight and finished, with their states). */
import type { Snapshot } from "../model.ts";

const time = (t: number) => new Date(t).toLocaleTimeString();

export function Alarms({ s }: { s: Snapshot }) {
  const alarms = Object.entries(s.alarms);
  return (
    <section>
      <h2>Active alarms ({alarms.length})</h2>
      <table class="alarms">
        <tbody>
          {alarms.map(([key, a]) => (
            <tr key={key} data-alarm={key} class={`sev-${a.severity}`}>
              <td>{a.severity}</td>
              <td>{a.entity}</td>
              <td>{a.type}</td>
              <td>{a.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Recent events</h2>
      <ul class="log">
        {[...s.events].reverse().map((e, i) => (
          <li key={`${e.time}-${i}`}>
            {time(e.time)} <b>{e.type}</b> {e.entity}: {e.text}
            {e.detail && (
              <details>
                <summary>details</summary>
                <pre>{e.detail}</pre>
              </details>
            )}
          </li>
        ))}
      </ul>
      {s.errors.length > 0 && (
        <>
          <h2>te/errors</h2>
          <ul class="log">
            {[...s.errors].reverse().map((e, i) => (
              <li key={`${e.t}-${i}`}>
                {time(e.t)} {e.text}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

export function Commands({ s }: { s: Snapshot }) {
  const rows = [...s.commands].reverse();
  return (
    <section>
      <h2>Commands</h2>
      <table>
        <thead>
          <tr>
            <th>entity</th>
            <th>operation</th>
            <th>id</th>
            <th>status</th>
            <th>history</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr key={`${c.entity}|${c.op}|${c.id}`}>
              <td>{c.entity}</td>
              <td>{c.op}</td>
              <td>{c.id}</td>
              <td class={`status ${c.status}`}>
                {c.status}
                {c.reason ? `: ${c.reason}` : ""}
              </td>
              <td>{c.history.map((h) => `${h.status} ${time(h.t)}`).join(" → ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
