import { foldRanges, MAX_CP, orbitOf } from './re2-charset';
import { type AssertKind, type Node } from './re2-syntax';

// A linear-time matcher for RE2 patterns (a Thompson NFA simulated in lock step, as RE2 does), used for
// patterns with repetition, where a backtracking engine such as JavaScript's can take exponential time on
// a crafted context value. It answers "is there a match anywhere" only, which needs no capture groups and
// no priorities. Memory is allocated once per pattern; test() allocates nothing (except to test a \p{..}
// class against a code point outside its explicit ranges).

const OP_CLASS = 0;
const OP_SPLIT = 1;
const OP_JMP = 2;
const OP_MATCH = 3;
const OP_ASSERT = 4;

const ASSERT_CODES: Record<AssertKind, number> = { bot: 0, eot: 1, bol: 2, eol: 3, wordb: 4, nwordb: 5 };

// Larger programs are refused, as RE2 refuses patterns that compile too large.
const MAX_PROGRAM = 20000;

interface CharSet {
  // Sorted, merged [lo, hi] pairs.
  ranges: Int32Array;
  negated: boolean;
  // \p{..} escapes of the class, tested one code point at a time.
  props: RegExp | undefined;
}

export class Re2ProgramTooLarge extends Error {}

class Builder {
  readonly op: number[] = [];
  readonly x: number[] = [];
  readonly y: number[] = [];
  readonly sets: CharSet[] = [];

  emit(op: number, x = -1, y = -1): number {
    if (this.op.length >= MAX_PROGRAM) throw new Re2ProgramTooLarge();
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.op.length - 1;
  }

  charSet(ranges: number[], negated: boolean, props: string[], fold = false): void {
    this.sets.push({
      ranges: Int32Array.from(ranges),
      negated,
      // Under (?i) RE2 folds property classes too; JavaScript's `i` flag does the same.
      props: props.length === 0 ? undefined : new RegExp(`^[${props.join('')}]$`, fold ? 'iu' : 'u'),
    });
    this.emit(OP_CLASS, this.sets.length - 1);
  }

  node(node: Node): void {
    switch (node.t) {
      case 'lit': {
        const cps = node.fold ? orbitOf(node.cp) : [node.cp];
        this.charSet(
          cps.flatMap((c) => [c, c]).sort((a, b) => a - b),
          false,
          [],
        );
        return;
      }
      case 'class':
        this.charSet(node.fold ? foldRanges(node.ranges) : node.ranges, node.negated, node.props, node.fold);
        return;
      case 'dot':
        this.charSet(node.nl ? [0, MAX_CP] : [0, 0x09, 0x0b, MAX_CP], false, []);
        return;
      case 'assert':
        this.emit(OP_ASSERT, ASSERT_CODES[node.kind]);
        return;
      case 'alt': {
        const jumps: number[] = [];
        node.alts.forEach((seq, k) => {
          const last = k === node.alts.length - 1;
          const split = last ? -1 : this.emit(OP_SPLIT);
          if (split >= 0) this.x[split] = split + 1;
          for (const n of seq) this.node(n);
          if (!last) {
            jumps.push(this.emit(OP_JMP));
            this.y[split] = this.op.length;
          }
        });
        for (const j of jumps) this.x[j] = this.op.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < node.min; k++) this.node(node.node);
        if (node.max === Infinity) {
          const loop = this.emit(OP_SPLIT);
          this.x[loop] = loop + 1;
          this.node(node.node);
          this.emit(OP_JMP, loop);
          this.y[loop] = this.op.length;
          return;
        }
        const exits: number[] = [];
        for (let k = node.min; k < node.max; k++) {
          const split = this.emit(OP_SPLIT);
          this.x[split] = split + 1;
          exits.push(split);
          this.node(node.node);
        }
        for (const e of exits) this.y[e] = this.op.length;
        return;
      }
    }
  }
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

export class Re2Program {
  private readonly op: Uint8Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly sets: CharSet[];
  // Whether every match must start at the beginning of the text (the pattern begins with ^ or \A).
  private readonly anchored: boolean;
  private cur: Int32Array;
  private next: Int32Array;
  private curCount = 0;
  private nextCount = 0;
  private readonly stack: Int32Array;
  private readonly mark: Uint32Array;
  private gen = 0;

  constructor(ast: Node) {
    const b = new Builder();
    b.node(ast);
    b.emit(OP_MATCH);
    this.op = Uint8Array.from(b.op);
    this.x = Int32Array.from(b.x);
    this.y = Int32Array.from(b.y);
    this.sets = b.sets;
    const first = ast.t === 'alt' && ast.alts.length === 1 ? ast.alts[0][0] : undefined;
    this.anchored = first !== undefined && first.t === 'assert' && first.kind === 'bot';
    const n = this.op.length;
    this.cur = new Int32Array(n);
    this.next = new Int32Array(n);
    this.stack = new Int32Array(2 * n + 2);
    this.mark = new Uint32Array(n);
  }

  get size(): number {
    return this.op.length;
  }

  test(s: string): boolean {
    const len = s.length;
    let pos = 0;
    let gen = this.nextGen();
    this.curCount = 0;
    for (;;) {
      if ((pos === 0 || !this.anchored) && this.addThread(false, 0, s, pos, gen)) return true;
      if (pos >= len || (this.curCount === 0 && this.anchored)) return false;
      const cp = s.codePointAt(pos) as number;
      const nextPos = pos + (cp > 0xffff ? 2 : 1);
      gen = this.nextGen();
      this.nextCount = 0;
      const cur = this.cur;
      for (let k = 0; k < this.curCount; k++) {
        const pc = cur[k];
        if (this.inSet(this.sets[this.x[pc]], cp) && this.addThread(true, pc + 1, s, nextPos, gen))
          return true;
      }
      this.cur = this.next;
      this.next = cur;
      this.curCount = this.nextCount;
      pos = nextPos;
    }
  }

  private nextGen(): number {
    if (this.gen === 0xffffffff) {
      this.mark.fill(0);
      this.gen = 0;
    }
    return ++this.gen;
  }

  // Follows empty transitions from pc at pos, adding the character steps reached to the current or next
  // list; true when a match is reached.
  private addThread(toNext: boolean, start: number, s: string, pos: number, gen: number): boolean {
    const { op, x, y, stack, mark } = this;
    const list = toNext ? this.next : this.cur;
    let count = toNext ? this.nextCount : this.curCount;
    let sp = 0;
    stack[sp++] = start;
    let matched = false;
    while (sp > 0) {
      const pc = stack[--sp];
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      switch (op[pc]) {
        case OP_MATCH:
          matched = true;
          sp = 0;
          break;
        case OP_CLASS:
          list[count++] = pc;
          break;
        case OP_JMP:
          stack[sp++] = x[pc];
          break;
        case OP_SPLIT:
          stack[sp++] = y[pc];
          stack[sp++] = x[pc];
          break;
        case OP_ASSERT:
          if (this.assertHolds(x[pc], s, pos)) stack[sp++] = pc + 1;
          break;
      }
    }
    if (toNext) this.nextCount = count;
    else this.curCount = count;
    return matched;
  }

  private assertHolds(kind: number, s: string, pos: number): boolean {
    switch (kind) {
      case 0:
        return pos === 0;
      case 1:
        return pos === s.length;
      case 2:
        return pos === 0 || s.charCodeAt(pos - 1) === 0x0a;
      case 3:
        return pos === s.length || s.charCodeAt(pos) === 0x0a;
      default: {
        const before = pos > 0 && isWordChar(s.charCodeAt(pos - 1));
        const after = pos < s.length && isWordChar(s.charCodeAt(pos));
        return (before !== after) === (kind === 4);
      }
    }
  }

  private inSet(set: CharSet, cp: number): boolean {
    const r = set.ranges;
    let lo = 0;
    let hi = (r.length >> 1) - 1;
    let found = false;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < r[2 * mid]) hi = mid - 1;
      else if (cp > r[2 * mid + 1]) lo = mid + 1;
      else {
        found = true;
        break;
      }
    }
    if (!found && set.props !== undefined) found = set.props.test(String.fromCodePoint(cp));
    return found !== set.negated;
  }
}
