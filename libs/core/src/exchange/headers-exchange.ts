import type { FieldTable } from '../encoding/field-table';
import type { Binding, Destination } from './binding';
import { Exchange } from './exchange';
import { headersMatch, MatchMode, matchModeOf } from './headers-match';

interface HeadersRule {
  readonly binding: Binding;
  readonly mode: MatchMode;
}

/** Routes by message headers against each binding's arguments (`x-match` all/any[-with-x]). */
export class HeadersExchange extends Exchange {
  readonly type = 'headers';
  private rules: HeadersRule[] = [];

  match(_routingKey: string, headers: FieldTable | undefined, out: Destination[]): void {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (headersMatch(rule.binding.args, rule.mode, headers)) out.push(rule.binding.destination);
    }
  }

  added(binding: Binding): void {
    this.rules.push({ binding, mode: matchModeOf(binding.args) ?? 'all' });
  }

  removed(binding: Binding): void {
    this.rules = this.rules.filter((rule) => rule.binding.key !== binding.key);
  }
}
