/** The console page: one snapshot, then live deltas over one server-sent events stream. */
import { render } from "preact";
import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import type { Snapshot } from "../model.ts";
import { Alarms, Commands } from "./activity.tsx";
import { snapshot, stream } from "./api.ts";
import { Commissioning } from "./commissioning.tsx";
import { Entities } from "./entities.tsx";
import { applyDelta, empty } from "./store.ts";

const TABS = ["entities", "alarms", "commands", "commissioning"] as const;
type Tab = (typeof TABS)[number];

function useRoute(): [Tab, string, (t: Tab, entity?: string) => void] {
  const parse = (): [Tab, string] => {
    const [tab, ...rest] = location.hash.slice(1).split("/");
    return [
      TABS.includes(tab as Tab) ? (tab as Tab) : "entities",
      decodeURIComponent(rest.join("/")) || "device/main//",
    ];
  };
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return [route[0], route[1], (t, e) => (location.hash = e ? `${t}/${encodeURIComponent(e)}` : t)];
}

function App() {
  const model = useRef<Snapshot>(empty());
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [tab, entity, go] = useRoute();
  useEffect(() => {
    let frame = 0;
    const schedule = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        redraw(0);
      });
    };
    const load = () =>
      snapshot().then((s) => {
        model.current = s;
        schedule();
      });
    void load();
    return stream((d) => {
      applyDelta(model.current, d);
      schedule();
    }, load);
  }, []);
  const s = model.current;
  const down = s.entities.filter((e) => e.health && e.health.status !== "up").length;
  return (
    <>
      <header>
        <b>ledge</b>
        <nav>
          {TABS.map((t) => (
            <a key={t} href={`#${t}`} class={t === tab ? "selected" : ""}>
              {t}
              {t === "alarms" && Object.keys(s.alarms).length > 0 ? ` (${Object.keys(s.alarms).length})` : ""}
            </a>
          ))}
        </nav>
        <span class={down ? "status down" : "status up"}>{down ? `${down} down` : "all up"}</span>
      </header>
      <main>
        {tab === "entities" && <Entities s={s} selected={entity} select={(id) => go("entities", id)} />}
        {tab === "alarms" && <Alarms s={s} />}
        {tab === "commands" && <Commands s={s} />}
        {tab === "commissioning" && <Commissioning />}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
