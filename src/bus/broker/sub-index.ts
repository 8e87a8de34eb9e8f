/**
 * Subscriptions indexed by topic level (a trie), so routing a message costs the depth of its
 * topic, not the number of subscriptions. `+` matches one level, empty levels included
 * (`te/+/+/+/+` matches `te/device/main//`) [MQTT-4.7.1-3]; `#` matches the parent and any
 * number of levels [MQTT-4.7.1-2]; wildcards at the first level skip `$` topics [MQTT-4.7.2-1].
 */
class Node<E> {
  readonly exact = new Map<string, Node<E>>();
  plus?: Node<E>;
  hash?: Set<E>;
  here?: Set<E>;
}

export class SubIndex<E> {
  private readonly root = new Node<E>();

  add(filter: string, entry: E): void {
    let node = this.root;
    const levels = filter.split("/");
    for (const [i, level] of levels.entries()) {
      if (level === "#" && i === levels.length - 1) {
        node.hash ??= new Set();
        node.hash.add(entry);
        return;
      }
      if (level === "+") node = node.plus ??= new Node();
      else {
        let next = node.exact.get(level);
        if (!next) {
          next = new Node();
          node.exact.set(level, next);
        }
        node = next;
      }
    }
    node.here ??= new Set();
    node.here.add(entry);
  }

  remove(filter: string, entry: E): void {
    const path: [Node<E>, string][] = [];
    let node: Node<E> | undefined = this.root;
    const levels = filter.split("/");
    for (const [i, level] of levels.entries()) {
      if (level === "#" && i === levels.length - 1) {
        node.hash?.delete(entry);
        if (node.hash?.size === 0) node.hash = undefined;
        this.prune(path, node);
        return;
      }
      path.push([node, level]);
      node = level === "+" ? node.plus : node.exact.get(level);
      if (!node) return;
    }
    node.here?.delete(entry);
    if (node.here?.size === 0) node.here = undefined;
    this.prune(path, node);
  }

  /** Drops nodes left empty by a removal, so a churn of unique filters does not grow the trie. */
  private prune(path: [Node<E>, string][], leaf: Node<E>): void {
    let node = leaf;
    for (let i = path.length - 1; i >= 0; i--) {
      if (node.here || node.hash || node.plus || node.exact.size) return;
      const [parent, level] = path[i] as [Node<E>, string];
      if (level === "+") parent.plus = undefined;
      else parent.exact.delete(level);
      node = parent;
    }
  }

  /** Calls `visit` for every entry whose filter matches `topic` (an entry under two filters twice). */
  match(topic: string, visit: (e: E) => void): void {
    walk(this.root, topic.split("/"), 0, topic.charCodeAt(0) === 36, visit);
  }
}

function walk<E>(node: Node<E>, levels: string[], i: number, dollar: boolean, visit: (e: E) => void): void {
  const wild = !(i === 0 && dollar);
  if (wild && node.hash) for (const e of node.hash) visit(e);
  if (i === levels.length) {
    if (node.here) for (const e of node.here) visit(e);
    return;
  }
  if (wild && node.plus) walk(node.plus, levels, i + 1, dollar, visit);
  const next = node.exact.get(levels[i] as string);
  if (next) walk(next, levels, i + 1, dollar, visit);
}
