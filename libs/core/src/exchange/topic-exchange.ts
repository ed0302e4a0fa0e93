import type { FieldTable } from '../encoding/field-table';
import type { Binding, Destination } from './binding';
import { Exchange } from './exchange';
import { TopicTrie } from './topic-trie';

/** Most routing keys whose match results are remembered; the cache resets when full. */
const CACHE_LIMIT = 4096;

/** Routes by pattern (`*` one word, `#` zero or more), remembering results per routing key. */
export class TopicExchange extends Exchange {
  readonly type = 'topic';
  private readonly trie = new TopicTrie<Destination>();
  private readonly cache = new Map<string, Destination[]>();

  match(routingKey: string, _headers: FieldTable | undefined, out: Destination[]): void {
    let destinations = this.cache.get(routingKey);
    if (destinations === undefined) {
      destinations = [];
      this.trie.match(routingKey, destinations);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(routingKey, destinations);
    }
    for (let i = 0; i < destinations.length; i++) out.push(destinations[i]!);
  }

  added(binding: Binding): void {
    this.trie.add(binding.routingKey, binding.destination);
    this.cache.clear();
  }

  removed(binding: Binding): void {
    this.trie.remove(binding.routingKey, binding.destination);
    this.cache.clear();
  }
}
