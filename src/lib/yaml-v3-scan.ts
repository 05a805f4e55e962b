// Derived from yaml.v3's scannerc.go, itself ported to Go from libyaml: the same algorithm for what decides
// comments, translated to TypeScript and cut down to it. Copyright (c) 2006-2010 Kirill Simonov,
// Copyright (c) 2006-2011 Kirill Simonov, and the yaml.v3 authors since 2011; MIT licence, see
// THIRD_PARTY_NOTICES.md.
// The part of Go's yaml.v3 scanner (scannerc.go) that decides where comments go: tokens with their positions,
// indentation, simple keys and line counts, and the runs of comment lines filed as the head, line or foot of a
// token. Scalars are only skipped over; their values are the `yaml` library's. See ./yaml-v3-comments.ts.

/** One comment line of the source: its text after `#`, where its `#` is, and its line (0-based). */
export interface SourceComment {
  text: string;
  offset: number;
  line: number;
}

/** Input whose comments yaml.v3 reads in a way this module does not reproduce, or that yaml.v3 refuses. */
export class V3Unsupported extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

export interface Mark {
  /** Characters from the start, as yaml.v3 counts them. */
  index: number;
  line: number;
  column: number;
  /** UTF-16 offset into the source. */
  pos: number;
}

export type TokenType =
  | 'STREAM_START'
  | 'STREAM_END'
  | 'DOCUMENT_START'
  | 'DOCUMENT_END'
  | 'BLOCK_SEQUENCE_START'
  | 'BLOCK_MAPPING_START'
  | 'BLOCK_END'
  | 'FLOW_SEQUENCE_START'
  | 'FLOW_SEQUENCE_END'
  | 'FLOW_MAPPING_START'
  | 'FLOW_MAPPING_END'
  | 'BLOCK_ENTRY'
  | 'FLOW_ENTRY'
  | 'KEY'
  | 'VALUE'
  | 'ALIAS'
  | 'ANCHOR'
  | 'TAG'
  | 'SCALAR';

export interface Token {
  type: TokenType;
  start: Mark;
  value?: string;
}

/** A run of comment lines as the scanner files it: the token it belongs to, and as head, line or foot. */
export interface ScannedComment {
  scanMark: Mark;
  tokenMark: Mark;
  startMark: Mark;
  endMark: Mark;
  head: string;
  line: string;
  foot: string;
}

interface SimpleKey {
  possible: boolean;
  required: boolean;
  tokenNumber: number;
  mark: Mark;
}

export const ZERO: Mark = { index: 0, line: 0, column: 0, pos: 0 };
const isBlank = (c: string) => c === ' ' || c === '\t';
const isBreak = (c: string) => c === '\n' || c === '\r';
const isZ = (c: string) => c === '\0';
const isBreakZ = (c: string) => isBreak(c) || isZ(c);
const isBlankZ = (c: string) => isBlank(c) || isBreakZ(c);
const isAlpha = (c: string) => /^[0-9A-Za-z_-]$/.test(c);
const URI_CHAR = /^[0-9A-Za-z_\-;/?:@&=+$,.!~*'()[\]%]$/;

// ---------------------------------------------------------------------------------------------------------------
// The scanner: tokens and comment runs, as yaml.v3's scannerc.go produces them.

export class Scanner {
  readonly tokens: Token[] = [];
  readonly comments: ScannedComment[] = [];
  /** The source comment lines, by the id their text carries (`#<id>`). */
  readonly lines: SourceComment[] = [];
  /** Where each anchor (`&name`) is written. */
  readonly anchors: { start: number; end: number }[] = [];
  private pos = 0;
  private mark: Mark = { ...ZERO };
  private newlines = 0;
  private indent = -1;
  private readonly indents: number[] = [];
  private flowLevel = 0;
  private simpleKeyAllowed = true;
  private readonly simpleKeys: SimpleKey[] = [{ possible: false, required: false, tokenNumber: 0, mark: ZERO }];

  constructor(private readonly src: string) {
    // A byte order mark that starts the input is the reader's, before column 0.
    if (src.startsWith('\ufeff')) this.pos = 1;
  }

  private at(pos: number): string {
    return pos < this.src.length ? this.src[pos] : '\0';
  }
  private get c(): string {
    return this.at(this.pos);
  }
  private here(): Mark {
    return { index: this.mark.index, line: this.mark.line, column: this.mark.column, pos: this.pos };
  }
  /** A `---` or `...` at the start of a line, followed by a space or a line break. */
  private documentIndicator(): '---' | '...' | undefined {
    const c = this.c;
    if (this.mark.column !== 0 || (c !== '-' && c !== '.') || this.at(this.pos + 1) !== c || this.at(this.pos + 2) !== c || !isBlankZ(this.at(this.pos + 3))) return undefined;
    return c === '-' ? '---' : '...';
  }
  private fail(message: string, mark: Mark = this.mark): never {
    throw new V3Unsupported(message, mark.line);
  }

  private skip() {
    if (!isBlank(this.c)) this.newlines = 0;
    const code = this.src.codePointAt(this.pos) ?? 0;
    this.pos += code > 0xffff ? 2 : 1;
    this.mark.index++;
    this.mark.column++;
  }
  private skipLine() {
    if (this.c === '\r' && this.at(this.pos + 1) === '\n') {
      this.pos += 2;
      this.mark.index += 2;
    } else if (isBreak(this.c)) {
      this.pos++;
      this.mark.index++;
    } else return;
    this.mark.column = 0;
    this.mark.line++;
    this.newlines++;
  }
  /** Reads a comment from its `#` to the end of its line into a `#<id>` line of comment text. */
  private readComment(): string {
    const start = this.pos;
    while (!isBreakZ(this.c)) this.skip();
    this.lines.push({ text: this.src.slice(start + 1, this.pos), offset: start, line: this.mark.line });
    return `#${this.lines.length - 1}`;
  }

  private push(type: TokenType, start: Mark, value?: string) {
    this.tokens.push({ type, start, value });
  }
  private insert(at: number, type: TokenType, start: Mark) {
    this.tokens.splice(at, 0, { type, start });
  }

  private readonly simpleKeysByToken = new Map<number, number>();
  private ended = false;

  /**
   * Fetches tokens until the parser may look at token `head`, as yaml.v3 does: three tokens ahead, and further while
   * `head` may still be a simple key. What has been fetched decides which comments the parser can see: the
   * scanner still changes a comment's role after the parser has taken it.
   */
  fetchMore(head: number) {
    if (this.ended && head < this.tokens.length) return;
    for (;;) {
      if (head < this.tokens.length - 2) {
        const level = this.simpleKeysByToken.get(head);
        if (level === undefined || !this.simpleKeyValid(this.simpleKeys[level])) break;
      }
      if (!this.tokens.length) this.push('STREAM_START', this.here());
      else this.fetchNext();
      if (this.tokens[this.tokens.length - 1].type === 'STREAM_END') this.ended = true;
      if (this.ended && head < this.tokens.length) break;
    }
  }

  private simpleKeyValid(key: SimpleKey): boolean {
    if (!key.possible) return false;
    if (key.mark.line < this.mark.line || key.mark.index + 1024 < this.mark.index) {
      if (key.required) this.fail("could not find expected ':'", key.mark);
      key.possible = false;
      return false;
    }
    return true;
  }

  private fetchNext() {
    const scanMark = this.here();
    this.scanToNextToken();
    this.unrollIndent(this.mark.column, scanMark);
    const c = this.c;
    if (this.pos >= this.src.length) return this.fetchStreamEnd();
    if (this.mark.column === 0 && c === '%') this.fail('YAML directives (%) are not supported');
    const indicator = this.documentIndicator();
    if (indicator) return this.fetchDocumentIndicator(indicator === '---' ? 'DOCUMENT_START' : 'DOCUMENT_END');
    let commentMark = this.here();
    if (this.tokens.length > 0 && ((this.flowLevel === 0 && c === ':') || (this.flowLevel > 0 && c === ','))) {
      commentMark = this.tokens[this.tokens.length - 1].start;
    }
    this.fetchToken(c);
    if (this.tokens[this.tokens.length - 1].type !== 'BLOCK_ENTRY') this.scanLineComment(commentMark);
  }

  private fetchToken(c: string) {
    const next = this.at(this.pos + 1);
    if (c === '[') return this.fetchFlowStart('FLOW_SEQUENCE_START');
    if (c === '{') return this.fetchFlowStart('FLOW_MAPPING_START');
    if (c === ']') return this.fetchFlowEnd('FLOW_SEQUENCE_END');
    if (c === '}') return this.fetchFlowEnd('FLOW_MAPPING_END');
    if (c === ',') return this.fetchFlowEntry();
    if (c === '-' && isBlankZ(next)) return this.fetchBlockEntry();
    if (c === '?' && (this.flowLevel > 0 || isBlankZ(next))) return this.fetchKey();
    if (c === ':' && (this.flowLevel > 0 || isBlankZ(next))) return this.fetchValue();
    if (c === '*') return this.fetchAnchor('ALIAS');
    if (c === '&') return this.fetchAnchor('ANCHOR');
    if (c === '!') return this.fetchTag();
    if ((c === '|' || c === '>') && this.flowLevel === 0) return this.fetchBlockScalar();
    if (c === "'" || c === '"') return this.fetchFlowScalar(c === "'");
    if (
      !(isBlankZ(c) || '-?:,[]{}#&*!|>\'"%@`'.includes(c)) ||
      (c === '-' && !isBlank(next)) ||
      (this.flowLevel === 0 && (c === '?' || c === ':') && !isBlankZ(next))
    ) {
      return this.fetchPlainScalar();
    }
    this.fail('found character that cannot start any token');
  }

  // --- whitespace and comments -----------------------------------------------------------------------------

  private scanToNextToken() {
    const scanMark = this.here();
    for (;;) {
      if (this.mark.column === 0 && this.c === '\ufeff') this.skip();
      while (this.c === ' ' || ((this.flowLevel > 0 || !this.simpleKeyAllowed) && this.c === '\t')) this.skip();
      // A line comment after a sequence entry's `-` that looks like a header of what follows becomes a head.
      if (this.comments.length > 0 && this.tokens.length > 1) {
        const a = this.tokens[this.tokens.length - 2];
        const b = this.tokens[this.tokens.length - 1];
        const comment = this.comments[this.comments.length - 1];
        if (a.type === 'BLOCK_SEQUENCE_START' && b.type === 'BLOCK_ENTRY' && comment.line && !isBreak(this.c)) {
          comment.head = comment.line;
          comment.line = '';
          if (comment.startMark.line === this.mark.line - 1) comment.tokenMark = this.here();
        }
      }
      if (this.c === '#') this.scanComments(scanMark);
      if (isBreak(this.c)) {
        this.skipLine();
        if (this.flowLevel === 0) this.simpleKeyAllowed = true;
      } else break;
    }
  }

  private scanLineComment(tokenMark: Mark) {
    if (this.newlines > 0) return;
    for (let peek = 0; peek < 512; peek++) {
      const c = this.at(this.pos + peek);
      if (isBlank(c)) continue;
      if (c === '#') {
        while (this.c !== '#') this.skip();
        const startMark = this.here();
        const line = this.readComment();
        this.comments.push({ scanMark: ZERO, tokenMark, startMark, endMark: ZERO, head: '', line, foot: '' });
      }
      break;
    }
  }

  private scanComments(scanMark: Mark) {
    let token = this.tokens[this.tokens.length - 1];
    if (token.type === 'FLOW_ENTRY' && this.tokens.length > 1) token = this.tokens[this.tokens.length - 2];
    let tokenMark = token.start;
    let startMark: Mark = ZERO;
    let nextIndent = Math.max(this.indent, 0);
    let recentEmpty = false;
    let firstEmpty = this.newlines <= 1;
    let line = this.mark.line;
    let column = this.mark.column;
    let text = '';
    // The line a comment must start on to be the foot of what precedes it.
    let footLine = -1;
    if (scanMark.line > 0) {
      footLine = this.mark.line - this.newlines + 1;
      if (this.newlines === 0 && this.mark.column > 1) footLine++;
    }
    const markAt = (peek: number): Mark => ({ index: this.mark.index + peek, line, column, pos: this.pos + peek });
    /** Files the text so far as the foot of `tokenMark`'s token; what follows starts afresh. */
    const foot = (peek: number) => {
      this.comments.push({ scanMark, tokenMark, startMark, endMark: markAt(peek), head: '', line: '', foot: text });
      scanMark = markAt(peek);
      tokenMark = scanMark;
      text = '';
    };
    let peek = 0;
    for (; peek < 512; peek++) {
      column++;
      const c = this.at(this.pos + peek);
      if (isBlank(c)) continue;
      const closeFlow = this.flowLevel > 0 && (c === ']' || c === '}');
      if (closeFlow || isBreakZ(c)) {
        if (closeFlow || !recentEmpty) {
          if (closeFlow || (firstEmpty && ((startMark.line === footLine && token.type !== 'VALUE') || startMark.column - 1 < nextIndent))) {
            // The comment so far, before the first empty line, is the foot of what precedes it.
            if (text) {
              if (startMark.column - 1 < nextIndent) tokenMark = startMark;
              foot(peek);
            }
          } else if (text && !isZ(c)) {
            text += '\n';
          }
        }
        if (!isBreak(c)) break;
        firstEmpty = false;
        recentEmpty = true;
        column = 0;
        line++;
        continue;
      }
      // A comment at another indentation is the foot of the preceding content, not the head of what follows.
      if (text && column - 1 < nextIndent && column !== startMark.column) foot(peek);
      if (c !== '#') break;
      if (!text) startMark = markAt(peek);
      else text += '\n';
      recentEmpty = false;
      const seen = this.mark.index + peek;
      while (this.mark.index < seen) {
        if (isBreak(this.c)) this.skipLine();
        else this.skip();
      }
      text += this.readComment();
      peek = 0;
      column = 0;
      line = this.mark.line;
      nextIndent = Math.max(this.indent, 0);
    }
    if (text) {
      this.comments.push({ scanMark, tokenMark: startMark, startMark, endMark: { index: this.mark.index + peek - 1, line, column, pos: this.pos + peek - 1 }, head: text, line: '', foot: '' });
    }
  }

  // --- indentation and simple keys -------------------------------------------------------------------------

  private rollIndent(column: number, number: number, type: TokenType, mark: Mark) {
    if (this.flowLevel > 0) return;
    if (this.indent < column) {
      this.indents.push(this.indent);
      this.indent = column;
      if (number > -1) this.insert(number, type, mark);
      else this.push(type, mark);
    }
  }

  private unrollIndent(column: number, scanMark: Mark) {
    if (this.flowLevel > 0) return;
    let blockMark: Mark = { ...scanMark, index: scanMark.index - 1, pos: scanMark.pos - 1 };
    while (this.indent > column) {
      // The end of a block goes before the comments that follow it at its own indentation.
      let stopIndex = blockMark.index;
      for (let i = this.comments.length - 1; i >= 0; i--) {
        const comment = this.comments[i];
        if (comment.endMark.index < stopIndex) break;
        if (comment.startMark.column === this.indent + 1) blockMark = comment.startMark;
        stopIndex = comment.scanMark.index;
      }
      this.push('BLOCK_END', blockMark);
      this.indent = this.indents.pop()!;
    }
  }

  private saveSimpleKey() {
    const required = this.flowLevel === 0 && this.indent === this.mark.column;
    if (this.simpleKeyAllowed) {
      const key = { possible: true, required, tokenNumber: this.tokens.length, mark: this.here() };
      this.removeSimpleKey();
      this.simpleKeys[this.simpleKeys.length - 1] = key;
      this.simpleKeysByToken.set(key.tokenNumber, this.simpleKeys.length - 1);
    }
  }
  private removeSimpleKey() {
    const key = this.simpleKeys[this.simpleKeys.length - 1];
    if (key.possible) {
      if (key.required) this.fail("could not find expected ':'", key.mark);
      key.possible = false;
      this.simpleKeysByToken.delete(key.tokenNumber);
    }
  }

  // --- tokens ----------------------------------------------------------------------------------------------

  private fetchStreamEnd() {
    if (this.mark.column !== 0) {
      this.mark.column = 0;
      this.mark.line++;
    }
    this.unrollIndent(-1, this.here());
    this.removeSimpleKey();
    this.simpleKeyAllowed = false;
    this.push('STREAM_END', this.here());
  }

  private fetchDocumentIndicator(type: TokenType) {
    this.unrollIndent(-1, this.here());
    this.removeSimpleKey();
    this.simpleKeyAllowed = false;
    const start = this.here();
    this.skip();
    this.skip();
    this.skip();
    this.push(type, start);
  }

  private fetchFlowStart(type: TokenType) {
    this.saveSimpleKey();
    this.simpleKeys.push({ possible: false, required: false, tokenNumber: this.tokens.length, mark: this.here() });
    this.flowLevel++;
    this.simpleKeyAllowed = true;
    const start = this.here();
    this.skip();
    this.push(type, start);
  }

  private fetchFlowEnd(type: TokenType) {
    this.removeSimpleKey();
    if (this.flowLevel > 0) {
      this.flowLevel--;
      this.simpleKeysByToken.delete(this.simpleKeys.pop()!.tokenNumber);
    }
    this.simpleKeyAllowed = false;
    const start = this.here();
    this.skip();
    this.push(type, start);
  }

  private fetchFlowEntry() {
    this.removeSimpleKey();
    this.simpleKeyAllowed = true;
    const start = this.here();
    this.skip();
    this.push('FLOW_ENTRY', start);
  }

  private fetchBlockEntry() {
    if (this.flowLevel === 0) {
      if (!this.simpleKeyAllowed) this.fail('block sequence entries are not allowed in this context');
      this.rollIndent(this.mark.column, -1, 'BLOCK_SEQUENCE_START', this.here());
    }
    this.removeSimpleKey();
    this.simpleKeyAllowed = true;
    const start = this.here();
    this.skip();
    this.push('BLOCK_ENTRY', start);
  }

  private fetchKey() {
    if (this.flowLevel === 0) {
      if (!this.simpleKeyAllowed) this.fail('mapping keys are not allowed in this context');
      this.rollIndent(this.mark.column, -1, 'BLOCK_MAPPING_START', this.here());
    }
    this.removeSimpleKey();
    this.simpleKeyAllowed = this.flowLevel === 0;
    const start = this.here();
    this.skip();
    this.push('KEY', start);
  }

  private fetchValue() {
    const key = this.simpleKeys[this.simpleKeys.length - 1];
    if (this.simpleKeyValid(key)) {
      this.insert(key.tokenNumber, 'KEY', key.mark);
      this.rollIndent(key.mark.column, key.tokenNumber, 'BLOCK_MAPPING_START', key.mark);
      key.possible = false;
      this.simpleKeysByToken.delete(key.tokenNumber);
      this.simpleKeyAllowed = false;
    } else {
      if (this.flowLevel === 0) {
        if (!this.simpleKeyAllowed) this.fail('mapping values are not allowed in this context');
        this.rollIndent(this.mark.column, -1, 'BLOCK_MAPPING_START', this.here());
      }
      this.simpleKeyAllowed = this.flowLevel === 0;
    }
    const start = this.here();
    this.skip();
    this.push('VALUE', start);
  }

  private fetchAnchor(type: 'ALIAS' | 'ANCHOR') {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    const start = this.here();
    this.skip();
    let name = '';
    while (isAlpha(this.c)) {
      name += this.c;
      this.skip();
    }
    if (!name || !(isBlankZ(this.c) || '?:,]}%@`'.includes(this.c))) this.fail(`while scanning an ${type === 'ANCHOR' ? 'anchor' : 'alias'}: did not find expected alphabetic or numeric character`);
    if (type === 'ANCHOR') this.anchors.push({ start: start.pos, end: this.pos });
    this.push(type, start, name);
  }

  private fetchTag() {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    const start = this.here();
    if (this.at(this.pos + 1) === '<') {
      this.skip();
      this.skip();
      while (URI_CHAR.test(this.c)) this.skip();
      if (this.c !== '>') this.fail("while scanning a tag: did not find the expected '>'");
      this.skip();
    } else {
      this.skip();
      while (isAlpha(this.c)) this.skip();
      if (this.c === '!') this.skip();
      while (URI_CHAR.test(this.c)) this.skip();
    }
    if (!isBlankZ(this.c)) this.fail('while scanning a tag: did not find expected whitespace or line break');
    this.push('TAG', start, this.src.slice(start.pos, this.pos));
  }

  private fetchBlockScalar() {
    this.removeSimpleKey();
    this.simpleKeyAllowed = true;
    const start = this.here();
    this.skip();
    let increment = 0;
    const chomp = () => {
      if (this.c === '+' || this.c === '-') this.skip();
    };
    const digit = () => {
      if (/^[0-9]$/.test(this.c)) {
        if (this.c === '0') this.fail('while scanning a block scalar: found an indentation indicator equal to 0');
        increment = Number(this.c);
        this.skip();
      }
    };
    if (this.c === '+' || this.c === '-') {
      chomp();
      digit();
    } else {
      digit();
      chomp();
    }
    while (isBlank(this.c)) this.skip();
    if (this.c === '#') {
      this.scanLineComment(start);
      while (!isBreakZ(this.c)) this.skip();
    }
    if (!isBreakZ(this.c)) this.fail('while scanning a block scalar: did not find expected comment or line break');
    if (isBreak(this.c)) this.skipLine();
    let indent = increment > 0 ? (this.indent >= 0 ? this.indent + increment : increment) : 0;
    indent = this.blockScalarBreaks(indent);
    while (this.mark.column === indent && !isZ(this.c)) {
      while (!isBreakZ(this.c)) this.skip();
      this.skipLine();
      indent = this.blockScalarBreaks(indent);
    }
    this.push('SCALAR', start);
  }

  private blockScalarBreaks(indent: number): number {
    let maxIndent = 0;
    for (;;) {
      while ((indent === 0 || this.mark.column < indent) && this.c === ' ') this.skip();
      if (this.mark.column > maxIndent) maxIndent = this.mark.column;
      if ((indent === 0 || this.mark.column < indent) && this.c === '\t') {
        this.fail('while scanning a block scalar: found a tab character where an indentation space is expected');
      }
      if (!isBreak(this.c)) break;
      this.skipLine();
    }
    if (indent === 0) indent = Math.max(maxIndent, this.indent + 1, 1);
    return indent;
  }

  private fetchFlowScalar(single: boolean) {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    const start = this.here();
    const quote = single ? "'" : '"';
    this.skip();
    for (;;) {
      if (this.documentIndicator()) this.fail('while scanning a quoted scalar: found unexpected document indicator');
      if (this.pos >= this.src.length) this.fail('while scanning a quoted scalar: found unexpected end of stream', start);
      while (!isBlankZ(this.c)) {
        if (single && this.c === "'" && this.at(this.pos + 1) === "'") {
          this.skip();
          this.skip();
        } else if (this.c === quote) {
          break;
        } else if (!single && this.c === '\\' && isBreak(this.at(this.pos + 1))) {
          this.skip();
          this.skipLine();
          break;
        } else if (!single && this.c === '\\') {
          const escape = this.at(this.pos + 1);
          const length = { x: 2, u: 4, U: 8 }[escape] ?? 0;
          if (!length && !'0abt\tnvfre "\'\\N_LP'.includes(escape)) this.fail('while parsing a quoted scalar: found unknown escape character');
          this.skip();
          this.skip();
          for (let k = 0; k < length; k++) {
            if (!/^[0-9A-Fa-f]$/.test(this.c)) this.fail('while parsing a quoted scalar: did not find expected hexdecimal number');
            this.skip();
          }
        } else {
          this.skip();
        }
      }
      if (this.c === quote) break;
      while (isBlank(this.c) || isBreak(this.c)) {
        if (isBlank(this.c)) this.skip();
        else this.skipLine();
      }
    }
    this.skip();
    this.push('SCALAR', start);
  }

  private fetchPlainScalar() {
    this.saveSimpleKey();
    this.simpleKeyAllowed = false;
    const start = this.here();
    const indent = this.indent + 1;
    let leadingBlanks = false;
    for (;;) {
      if (this.documentIndicator()) break;
      if (this.c === '#') break;
      while (!isBlankZ(this.c)) {
        if ((this.c === ':' && isBlankZ(this.at(this.pos + 1))) || (this.flowLevel > 0 && ',?[]{}'.includes(this.c))) break;
        leadingBlanks = false;
        this.skip();
      }
      if (!(isBlank(this.c) || isBreak(this.c))) break;
      while (isBlank(this.c) || isBreak(this.c)) {
        if (isBlank(this.c)) {
          if (leadingBlanks && this.mark.column < indent && this.c === '\t') this.fail('while scanning a plain scalar: found a tab character that violates indentation');
          this.skip();
        } else {
          this.skipLine();
          leadingBlanks = true;
        }
      }
      if (this.flowLevel === 0 && this.mark.column < indent) break;
    }
    this.push('SCALAR', start);
    if (leadingBlanks) this.simpleKeyAllowed = true;
  }
}

