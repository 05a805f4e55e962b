// Derived from yaml.v3's parserc.go (ported from libyaml; MIT, Copyright (c) 2006-2010 Kirill Simonov) and
// decode.go (Copyright 2011-2019 Canonical Ltd; Apache-2.0): the same algorithm for where comments go,
// translated to TypeScript and cut down to it. See THIRD_PARTY_NOTICES.md.
// Where Go's yaml.v3 (gopkg.in/yaml.v3 3.0.1 and go.yaml.in/yaml/v3 3.0.4, which sops reads YAML with) puts
// each comment of a file: the head, line and foot comments of its nodes. yaml.v3 decides that while scanning,
// from the token before a comment, the indentation in force, blank lines and where the next block ends, and then
// moves comments again while parsing and building nodes; no rule over the finished tree reproduces it. So this
// module and ./yaml-v3-scan.ts scan and parse as yaml.v3 does, keeping only what decides comments (token
// positions, indentation, simple keys, line counts), and leave the values to the `yaml` library.
import { Scanner, V3Unsupported, ZERO, type Mark, type ScannedComment, type SourceComment, type Token, type TokenType } from './yaml-v3-scan.ts';

export { V3Unsupported, type SourceComment };

/** yaml.v3's comment of a node, one entry per comment line (sops drops its empty lines). */
export type CommentText = SourceComment[];

export interface V3Node {
  kind: 'document' | 'mapping' | 'sequence' | 'scalar' | 'alias';
  flow: boolean;
  /** Where yaml.v3 says the node starts (its anchor or tag, when it has one): offset and 0-based line. */
  offset: number;
  line: number;
  anchor?: string;
  /** An alias's anchor name. */
  alias?: string;
  /** A document's end: where its `...` or the next `---` starts, or the end of the file. */
  end?: number;
  head: CommentText;
  lineComment: CommentText;
  foot: CommentText;
  content: V3Node[];
}

// ---------------------------------------------------------------------------------------------------------------
// The parser: events, and which comments each takes, as yaml.v3's parserc.go hands them out.

type EventType = 'STREAM_START' | 'STREAM_END' | 'DOCUMENT_START' | 'DOCUMENT_END' | 'ALIAS' | 'SCALAR' | 'SEQUENCE_START' | 'SEQUENCE_END' | 'MAPPING_START' | 'MAPPING_END';

interface Event {
  type: EventType;
  start: Mark;
  flow?: boolean;
  anchor?: string;
  alias?: string;
  head: string;
  line: string;
  foot: string;
}

type State =
  | 'STREAM_START'
  | 'IMPLICIT_DOCUMENT_START'
  | 'DOCUMENT_START'
  | 'DOCUMENT_CONTENT'
  | 'DOCUMENT_END'
  | 'BLOCK_NODE'
  | 'BLOCK_SEQUENCE_FIRST_ENTRY'
  | 'BLOCK_SEQUENCE_ENTRY'
  | 'INDENTLESS_SEQUENCE_ENTRY'
  | 'BLOCK_MAPPING_FIRST_KEY'
  | 'BLOCK_MAPPING_KEY'
  | 'BLOCK_MAPPING_VALUE'
  | 'FLOW_SEQUENCE_FIRST_ENTRY'
  | 'FLOW_SEQUENCE_ENTRY'
  | 'FLOW_MAPPING_FIRST_KEY'
  | 'FLOW_MAPPING_KEY'
  | 'FLOW_MAPPING_VALUE'
  | 'FLOW_MAPPING_EMPTY_VALUE'
  | 'END';

const join = (a: string, b: string) => (a ? `${a}\n${b}` : b);

class Parser {
  private head = 0;
  private nextComment = 0;
  private state: State = 'STREAM_START';
  private readonly states: State[] = [];
  private headComment = '';
  private lineComment = '';
  private footComment = '';
  private stemComment = '';

  private readonly tokens: Token[];
  private readonly comments: ScannedComment[];
  private tokenAvailable = false;

  constructor(private readonly scanner: Scanner) {
    this.tokens = scanner.tokens;
    this.comments = scanner.comments;
  }

  events(): Event[] {
    const out: Event[] = [];
    while (this.state !== 'END') out.push(this.next());
    return out;
  }

  /** The next token, with every comment filed at or before it moved into the pending head, line and foot. */
  private peek(): Token {
    if (!this.tokenAvailable) this.scanner.fetchMore(this.head);
    this.tokenAvailable = true;
    const token = this.tokens[this.head];
    while (this.nextComment < this.comments.length && token.start.index >= this.comments[this.nextComment].tokenMark.index) {
      const comment = this.comments[this.nextComment];
      if (comment.head) {
        // No heads on block ends: the comment waits for the token after.
        if (token.type === 'BLOCK_END') break;
        this.headComment = join(this.headComment, comment.head);
      }
      if (comment.foot) this.footComment = join(this.footComment, comment.foot);
      if (comment.line) this.lineComment = join(this.lineComment, comment.line);
      // Taken: the scanner no longer sees it when it reconsiders the last comment or where a block ends.
      this.comments[this.nextComment++] = { scanMark: ZERO, tokenMark: ZERO, startMark: ZERO, endMark: ZERO, head: '', line: '', foot: '' };
    }
    return token;
  }
  private skip() {
    this.tokenAvailable = false;
    this.head++;
  }
  private fail(message: string, token: Token): never {
    throw new V3Unsupported(message, token.start.line);
  }
  private pop(): State {
    return this.states.pop()!;
  }

  private event(type: EventType, start: Mark, extra: Partial<Event> = {}, comments = false): Event {
    const event: Event = { type, start, head: '', line: '', foot: '', ...extra };
    if (comments) {
      event.head = this.headComment;
      event.line = this.lineComment;
      event.foot = this.footComment;
      this.headComment = this.lineComment = this.footComment = this.stemComment = '';
    }
    return event;
  }
  private empty(mark: Mark): Event {
    return this.event('SCALAR', mark);
  }

  private next(): Event {
    switch (this.state) {
      case 'STREAM_START': {
        const token = this.peek();
        this.state = 'IMPLICIT_DOCUMENT_START';
        this.skip();
        return this.event('STREAM_START', token.start);
      }
      case 'IMPLICIT_DOCUMENT_START':
        return this.documentStart(true);
      case 'DOCUMENT_START':
        return this.documentStart(false);
      case 'DOCUMENT_CONTENT': {
        const token = this.peek();
        if (['DOCUMENT_START', 'DOCUMENT_END', 'STREAM_END'].includes(token.type)) {
          this.state = this.pop();
          return this.empty(token.start);
        }
        return this.node(true, false);
      }
      case 'DOCUMENT_END': {
        const token = this.peek();
        if (token.type === 'DOCUMENT_END') this.skip();
        this.state = 'DOCUMENT_START';
        const event = this.event('DOCUMENT_END', token.start, {}, true);
        if (event.head && !event.foot) {
          event.foot = event.head;
          event.head = '';
        }
        return event;
      }
      case 'BLOCK_NODE':
        return this.node(true, false);
      case 'BLOCK_SEQUENCE_FIRST_ENTRY':
      case 'BLOCK_SEQUENCE_ENTRY':
        return this.blockSequenceEntry(this.state === 'BLOCK_SEQUENCE_FIRST_ENTRY');
      case 'INDENTLESS_SEQUENCE_ENTRY':
        return this.indentlessSequenceEntry();
      case 'BLOCK_MAPPING_FIRST_KEY':
      case 'BLOCK_MAPPING_KEY':
        return this.blockMappingKey(this.state === 'BLOCK_MAPPING_FIRST_KEY');
      case 'BLOCK_MAPPING_VALUE':
        return this.blockMappingValue();
      case 'FLOW_SEQUENCE_FIRST_ENTRY':
      case 'FLOW_SEQUENCE_ENTRY':
        return this.flowSequenceEntry(this.state === 'FLOW_SEQUENCE_FIRST_ENTRY');
      case 'FLOW_MAPPING_FIRST_KEY':
      case 'FLOW_MAPPING_KEY':
        return this.flowMappingKey(this.state === 'FLOW_MAPPING_FIRST_KEY');
      case 'FLOW_MAPPING_VALUE':
      case 'FLOW_MAPPING_EMPTY_VALUE':
        return this.flowMappingValue(this.state === 'FLOW_MAPPING_EMPTY_VALUE');
      default:
        throw new Error(`unexpected parser state ${this.state}`);
    }
  }

  private documentStart(implicit: boolean): Event {
    let token = this.peek();
    if (!implicit) {
      while (token.type === 'DOCUMENT_END') {
        this.skip();
        token = this.peek();
      }
    }
    if (implicit && token.type !== 'DOCUMENT_START' && token.type !== 'STREAM_END') {
      this.states.push('DOCUMENT_END');
      this.state = 'BLOCK_NODE';
      // The head comment up to its last empty line is the document's; the rest goes to what follows.
      let head = '';
      const pending = this.headComment;
      for (let i = pending.length - 1; i > 0; i--) {
        if (pending[i] !== '\n') continue;
        if (i === pending.length - 1) {
          head = pending.slice(0, i);
          this.headComment = pending.slice(i + 1);
          break;
        } else if (pending[i - 1] === '\n') {
          head = pending.slice(0, i - 1);
          this.headComment = pending.slice(i + 1);
          break;
        }
      }
      return this.event('DOCUMENT_START', token.start, { head });
    }
    if (token.type !== 'STREAM_END') {
      if (token.type !== 'DOCUMENT_START') this.fail('did not find expected <document start>', token);
      this.states.push('DOCUMENT_END');
      this.state = 'DOCUMENT_CONTENT';
      this.skip();
      return this.event('DOCUMENT_START', token.start);
    }
    this.state = 'END';
    this.skip();
    return this.event('STREAM_END', token.start);
  }

  private node(block: boolean, indentlessSequence: boolean): Event {
    let token = this.peek();
    if (token.type === 'ALIAS') {
      this.state = this.pop();
      const event = this.event('ALIAS', token.start, { alias: token.value }, true);
      this.skip();
      return event;
    }
    // Properties: an anchor, a tag, or both in either order; the node starts at the first.
    const start = token.start;
    let anchor: string | undefined;
    let tagged = false;
    for (const first of [true, false]) {
      if (token.type === 'ANCHOR' && anchor === undefined) anchor = token.value;
      else if (token.type === 'TAG' && !tagged) tagged = true;
      else break;
      this.skip();
      token = this.peek();
      if (!first) break;
    }
    if (indentlessSequence && token.type === 'BLOCK_ENTRY') {
      this.state = 'INDENTLESS_SEQUENCE_ENTRY';
      return this.event('SEQUENCE_START', start, { anchor });
    }
    if (token.type === 'SCALAR') {
      this.state = this.pop();
      const event = this.event('SCALAR', start, { anchor }, true);
      this.skip();
      return event;
    }
    if (token.type === 'FLOW_SEQUENCE_START' || token.type === 'FLOW_MAPPING_START') {
      const sequence = token.type === 'FLOW_SEQUENCE_START';
      this.state = sequence ? 'FLOW_SEQUENCE_FIRST_ENTRY' : 'FLOW_MAPPING_FIRST_KEY';
      return this.event(sequence ? 'SEQUENCE_START' : 'MAPPING_START', start, { anchor, flow: true }, true);
    }
    if (block && (token.type === 'BLOCK_SEQUENCE_START' || token.type === 'BLOCK_MAPPING_START')) {
      const sequence = token.type === 'BLOCK_SEQUENCE_START';
      this.state = sequence ? 'BLOCK_SEQUENCE_FIRST_ENTRY' : 'BLOCK_MAPPING_FIRST_KEY';
      const event = this.event(sequence ? 'SEQUENCE_START' : 'MAPPING_START', start, { anchor });
      if (this.stemComment) {
        event.head = this.stemComment;
        this.stemComment = '';
      }
      return event;
    }
    if (anchor !== undefined || tagged) {
      this.state = this.pop();
      return this.event('SCALAR', start, { anchor });
    }
    this.fail(`did not find expected node content`, token);
  }

  /** Under a sequence entry, a head comment read before the entry belongs to the collection that follows. */
  private splitStemComment(stemLength: number) {
    if (stemLength === 0) return;
    const token = this.peek();
    if (token.type !== 'BLOCK_SEQUENCE_START' && token.type !== 'BLOCK_MAPPING_START') return;
    this.stemComment = this.headComment.slice(0, stemLength);
    this.headComment = this.headComment.length === stemLength ? '' : this.headComment.slice(stemLength + 1);
  }

  /**
   * After an indicator (`-`, `?`, `:`): the node that follows, or an empty value where the next token is one of
   * `stops`; either way the parser goes on in state `next`.
   */
  private nodeOrEmpty(stops: TokenType[], next: State, block: boolean, indentless: boolean): Event {
    const token = this.peek();
    if (!stops.includes(token.type)) {
      this.states.push(next);
      return this.node(block, indentless);
    }
    this.state = next;
    return this.empty(token.start);
  }

  private blockSequenceEntry(first: boolean): Event {
    if (first) {
      this.peek();
      this.skip();
    }
    const token = this.peek();
    if (token.type === 'BLOCK_ENTRY') {
      const priorHead = this.headComment.length;
      this.skip();
      this.splitStemComment(priorHead);
      return this.nodeOrEmpty(['BLOCK_ENTRY', 'BLOCK_END'], 'BLOCK_SEQUENCE_ENTRY', true, false);
    }
    if (token.type === 'BLOCK_END') {
      this.state = this.pop();
      this.skip();
      return this.event('SEQUENCE_END', token.start);
    }
    this.fail("did not find expected '-' indicator", token);
  }

  private indentlessSequenceEntry(): Event {
    const token = this.peek();
    if (token.type === 'BLOCK_ENTRY') {
      const priorHead = this.headComment.length;
      this.skip();
      this.splitStemComment(priorHead);
      return this.nodeOrEmpty(['BLOCK_ENTRY', 'KEY', 'VALUE', 'BLOCK_END'], 'INDENTLESS_SEQUENCE_ENTRY', true, false);
    }
    this.state = this.pop();
    return this.event('SEQUENCE_END', token.start);
  }

  private blockMappingKey(first: boolean): Event {
    if (first) {
      this.peek();
      this.skip();
    }
    const token = this.peek();
    if (token.type === 'KEY') {
      this.skip();
      return this.nodeOrEmpty(['KEY', 'VALUE', 'BLOCK_END'], 'BLOCK_MAPPING_VALUE', true, true);
    }
    if (token.type === 'BLOCK_END') {
      this.state = this.pop();
      const event = this.event('MAPPING_END', token.start, {}, true);
      this.skip();
      return event;
    }
    this.fail('did not find expected key', token);
  }

  private blockMappingValue(): Event {
    const token = this.peek();
    if (token.type === 'VALUE') {
      this.skip();
      return this.nodeOrEmpty(['KEY', 'VALUE', 'BLOCK_END'], 'BLOCK_MAPPING_KEY', true, true);
    }
    this.state = 'BLOCK_MAPPING_KEY';
    return this.empty(token.start);
  }

  /** The token of a flow collection's next entry: past its opening, or past the `,` after the entry before. */
  private flowEntry(first: boolean, end: 'FLOW_SEQUENCE_END' | 'FLOW_MAPPING_END'): Token {
    if (first) {
      this.peek();
      this.skip();
    }
    let token = this.peek();
    if (token.type !== end && !first) {
      if (token.type !== 'FLOW_ENTRY') this.fail(`did not find expected ',' or '${end === 'FLOW_SEQUENCE_END' ? ']' : '}'}'`, token);
      this.skip();
      token = this.peek();
    }
    return token;
  }

  /** A flow collection's end, at its closing token. */
  private flowEnd(kind: 'SEQUENCE_END' | 'MAPPING_END', token: Token): Event {
    this.state = this.pop();
    const event = this.event(kind, token.start, {}, true);
    this.skip();
    return event;
  }

  private flowSequenceEntry(first: boolean): Event {
    const token = this.flowEntry(first, 'FLOW_SEQUENCE_END');
    if (token.type === 'KEY') this.fail('a mapping inside a flow sequence ([a: b]) is not supported', token);
    if (token.type !== 'FLOW_SEQUENCE_END') {
      this.states.push('FLOW_SEQUENCE_ENTRY');
      return this.node(false, false);
    }
    return this.flowEnd('SEQUENCE_END', token);
  }

  private flowMappingKey(first: boolean): Event {
    const token = this.flowEntry(first, 'FLOW_MAPPING_END');
    if (token.type === 'KEY') {
      this.skip();
      return this.nodeOrEmpty(['VALUE', 'FLOW_ENTRY', 'FLOW_MAPPING_END'], 'FLOW_MAPPING_VALUE', false, false);
    }
    if (token.type !== 'FLOW_MAPPING_END') {
      this.states.push('FLOW_MAPPING_EMPTY_VALUE');
      return this.node(false, false);
    }
    return this.flowEnd('MAPPING_END', token);
  }

  private flowMappingValue(empty: boolean): Event {
    let token = this.peek();
    if (empty) {
      this.state = 'FLOW_MAPPING_KEY';
      return this.empty(token.start);
    }
    if (token.type === 'VALUE') {
      this.skip();
      token = this.peek();
      if (token.type !== 'FLOW_ENTRY' && token.type !== 'FLOW_MAPPING_END') {
        this.states.push('FLOW_MAPPING_KEY');
        return this.node(false, false);
      }
    }
    this.state = 'FLOW_MAPPING_KEY';
    return this.empty(token.start);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Nodes, and the comments decode.go moves while building them.

interface Building extends Omit<V3Node, 'head' | 'lineComment' | 'foot' | 'content'> {
  head: string;
  lineComment: string;
  foot: string;
  content: Building[];
  target?: Building;
  done?: V3Node;
}

class Builder {
  private i = 0;
  private readonly anchors = new Map<string, Building>();
  readonly aliases: Building[] = [];

  constructor(private readonly events: Event[]) {}

  documents(): Building[] {
    const out: Building[] = [];
    this.expect('STREAM_START');
    while (this.peek().type !== 'STREAM_END') out.push(this.parse());
    return out;
  }

  private peek(): Event {
    return this.events[this.i];
  }
  private expect(type: EventType): Event {
    const event = this.events[this.i++];
    if (event?.type !== type) throw new V3Unsupported(`expected ${type} but got ${event?.type}`, event?.start.line ?? 0);
    return event;
  }
  private node(kind: V3Node['kind'], event: Event): Building {
    const n: Building = { kind, flow: !!event.flow, offset: event.start.pos, line: event.start.line, head: event.head, lineComment: event.line, foot: event.foot, content: [] };
    if (event.anchor !== undefined) {
      n.anchor = event.anchor;
      this.anchors.set(event.anchor, n);
    }
    return n;
  }

  private parse(): Building {
    const event = this.peek();
    switch (event.type) {
      case 'DOCUMENT_START': {
        const n = this.node('document', this.expect('DOCUMENT_START'));
        n.content.push(this.parse());
        if (this.peek().type === 'DOCUMENT_END') n.foot = this.peek().foot;
        n.end = this.expect('DOCUMENT_END').start.pos;
        return n;
      }
      case 'SCALAR':
        return this.node('scalar', this.expect('SCALAR'));
      case 'ALIAS': {
        const n = this.node('alias', this.expect('ALIAS'));
        n.alias = event.alias;
        n.target = this.anchors.get(event.alias!);
        if (!n.target) throw new V3Unsupported(`unknown anchor '${event.alias}' referenced`, event.start.line);
        this.aliases.push(n);
        return n;
      }
      case 'SEQUENCE_START': {
        const n = this.node('sequence', this.expect('SEQUENCE_START'));
        while (this.peek().type !== 'SEQUENCE_END') n.content.push(this.parse());
        const end = this.expect('SEQUENCE_END');
        n.lineComment = end.line;
        n.foot = end.foot;
        return n;
      }
      case 'MAPPING_START': {
        const n = this.node('mapping', this.expect('MAPPING_START'));
        while (this.peek().type !== 'MAPPING_END') {
          const k = this.parse();
          n.content.push(k);
          if (!n.flow && k.foot && n.content.length > 2) {
            // A key's foot, read when dedenting, is the foot of the entry before.
            n.content[n.content.length - 3].foot = k.foot;
            k.foot = '';
          }
          const v = this.parse();
          n.content.push(v);
          if (!k.foot && v.foot) {
            k.foot = v.foot;
            v.foot = '';
          }
        }
        const end = this.expect('MAPPING_END');
        n.lineComment = end.line;
        n.foot = end.foot;
        if (!n.flow && n.foot && n.content.length > 1) {
          n.content[n.content.length - 2].foot = n.foot;
          n.foot = '';
        }
        return n;
      }
      default:
        throw new V3Unsupported(`unexpected ${event.type}`, event.start.line);
    }
  }
}

/** The node as the module gives it: comment texts as source comment lines; each node made once (aliases share). */
const finish = (n: Building, lines: SourceComment[]): V3Node => {
  if (n.done) return n.done;
  const text = (t: string): SourceComment[] => (t ? t.split('\n').flatMap((l) => (l ? [lines[Number(l.slice(1))]] : [])) : []);
  const out: V3Node = { kind: n.kind, flow: n.flow, offset: n.offset, line: n.line, head: text(n.head), lineComment: text(n.lineComment), foot: text(n.foot), content: [] };
  if (n.anchor !== undefined) out.anchor = n.anchor;
  if (n.alias !== undefined) out.alias = n.alias;
  if (n.end !== undefined) out.end = n.end;
  n.done = out;
  out.content = n.content.map((c) => finish(c, lines));
  return out;
};

/** What yaml.v3's reader refuses ("control characters are not allowed"): everything outside these ranges. */
const REFUSED = /[^\t\n\r\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** Line breaks to yaml.v3 (YAML 1.1), not to the toolkit's reader: named, since printed they would break the message. */
const LINE_BREAKS: Record<string, string> = {
  '\r': 'lone carriage return (U+000D)',
  '\u0085': 'NEXT LINE (U+0085)',
  '\u2028': 'LINE SEPARATOR (U+2028)',
  '\u2029': 'PARAGRAPH SEPARATOR (U+2029)',
};
const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Refuses, with its line, a character yaml.v3's reader refuses or reads as a line break where YAML 1.2 does not. */
export const checkCharacters = (src: string): void => {
  const lineOf = (index: number) => src.slice(0, index).split('\n').length - 1;
  const refused = REFUSED.exec(src);
  if (refused) throw new V3Unsupported(`a character sops refuses (${codePoint(refused[0])}, which yaml.v3's reader does not allow)`, lineOf(refused.index));
  const bad = /[\u0085\u2028\u2029]|\r(?!\n)/.exec(src);
  if (bad) throw new V3Unsupported(`a ${LINE_BREAKS[bad[0]]} character that yaml.v3 reads differently`, lineOf(bad.index));
};

/**
 * The documents of `src` as yaml.v3 reads them, with each node's head, line and foot comments. An alias node's
 * `alias` names its anchor; `anchors` gives the node each name stands for where the alias is read. `src` has
 * passed checkCharacters (parseSops checks it before any reader).
 */
export const readV3 = (src: string): { documents: V3Node[]; comments: SourceComment[]; aliasTargets: Map<V3Node, V3Node>; anchors: { start: number; end: number }[] } => {
  const scanner = new Scanner(src);
  const events = new Parser(scanner).events();
  const builder = new Builder(events);
  const built = builder.documents();
  const documents = built.map((d) => finish(d, scanner.lines));
  const aliasTargets = new Map<V3Node, V3Node>();
  for (const b of builder.aliases) aliasTargets.set(finish(b, scanner.lines), finish(b.target!, scanner.lines));
  return { documents, comments: scanner.lines, aliasTargets, anchors: scanner.anchors };
};
