/**
 * Topic pattern matching: patterns are dot-separated words where `*` matches exactly one word and
 * `#` matches zero or more. Patterns share prefixes in a trie, so matching a key costs roughly its
 * word count, not the number of bindings.
 */
class TrieNode<T> {
  readonly children = new Map<string, TrieNode<T>>();
  star: TrieNode<T> | null = null;
  hash: TrieNode<T> | null = null;
  /** Values of patterns that end at this node. */
  readonly values: T[] = [];

  isEmpty(): boolean {
    return this.children.size === 0 && this.star === null && this.hash === null && this.values.length === 0;
  }
}

/** Splits a key or pattern into words; the empty string has no words. */
export const splitWords = (key: string): string[] => (key === '' ? [] : key.split('.'));

export class TopicTrie<T> {
  private readonly root = new TrieNode<T>();

  add(pattern: string, value: T): void {
    let node = this.root;
    for (const word of splitWords(pattern)) {
      if (word === '*') node = node.star ??= new TrieNode<T>();
      else if (word === '#') node = node.hash ??= new TrieNode<T>();
      else {
        let child = node.children.get(word);
        if (child === undefined) {
          child = new TrieNode<T>();
          node.children.set(word, child);
        }
        node = child;
      }
    }
    node.values.push(value);
  }

  remove(pattern: string, value: T): void {
    this.removeAt(this.root, splitWords(pattern), 0, value);
  }

  /** Appends the values of every pattern matching `key` (a value may appear more than once). */
  match(key: string, out: T[]): void {
    this.matchAt(this.root, splitWords(key), 0, out);
  }

  private matchAt(node: TrieNode<T>, words: string[], i: number, out: T[]): void {
    if (node.hash !== null) {
      // `#` swallows zero or more words: try every split point
      for (let j = i; j <= words.length; j++) this.matchAt(node.hash, words, j, out);
    }
    if (i === words.length) {
      for (let k = 0; k < node.values.length; k++) out.push(node.values[k]!);
      return;
    }
    const child = node.children.get(words[i]!);
    if (child !== undefined) this.matchAt(child, words, i + 1, out);
    if (node.star !== null) this.matchAt(node.star, words, i + 1, out);
  }

  private removeAt(node: TrieNode<T>, words: string[], i: number, value: T): boolean {
    if (i === words.length) {
      const at = node.values.indexOf(value);
      if (at >= 0) node.values.splice(at, 1);
      return node.isEmpty();
    }
    const word = words[i]!;
    if (word === '*' && node.star) {
      if (this.removeAt(node.star, words, i + 1, value)) node.star = null;
    } else if (word === '#' && node.hash) {
      if (this.removeAt(node.hash, words, i + 1, value)) node.hash = null;
    } else {
      const child = node.children.get(word);
      if (child && this.removeAt(child, words, i + 1, value)) node.children.delete(word);
    }
    return node.isEmpty();
  }
}
