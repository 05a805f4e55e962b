// Where Go's yaml.v3 (gopkg.in/yaml.v3 3.0.1 and go.yaml.in/yaml/v3 3.0.4, which sops reads YAML with) puts
// each comment of a file: the head, line and foot comments of its nodes. yaml.v3 decides that while scanning,
// from the token before a comment, the indentation in force, blank lines and where the next block ends, and then
// moves comments again while parsing and building nodes; no rule over the finished tree reproduces it. So this
// module scans and parses as yaml.v3 does, keeping only what decides comments (token positions, indentation,
// simple keys, line counts), and leaves the values to the `yaml` library.

/** One comment line of the source: its text after `#`, where its `#` is, and its line (0-based). */
export interface SourceComment {
  text: string;
  offset: number;
  line: number;
}

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

/** Input whose comments yaml.v3 reads in a way this module does not reproduce, or that yaml.v3 refuses. */
export class V3Unsupported extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

interface Mark {
  /** Characters from the start, as yaml.v3 counts them. */
  index: number;
  line: number;
  column: number;
  /** UTF-16 offset into the source. */
  pos: number;
}

type TokenType =
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

interface Token {
  type: TokenType;
  start: Mark;
  value?: string;
}

/** A run of comment lines as the scanner files it: the token it belongs to, and as head, line or foot. */
interface ScannedComment {
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

const ZERO: Mark = { index: 0, line: 0, column: 0, pos: 0 };
const isBlank = (c: string) => c === ' ' || c === '\t';
const isBreak = (c: string) => c === '\n' || c === '\r';
const isZ = (c: string) => c === '\0';
const isBreakZ = (c: string) => isBreak(c) || isZ(c);
const isBlankZ = (c: string) => isBlank(c) || isBreakZ(c);
const isAlpha = (c: string) => /^[0-9A-Za-z_-]$/.test(c);
const URI_CHAR = /^[0-9A-Za-z_\-;/?:@&=+$,.!~*'()[\]%]$/;

// ---------------------------------------------------------------------------------------------------------------
// The scanner: tokens and comment runs, as yaml.v3's scannerc.go produces them.

class Scanner {
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

  constructor(private readonly src: string) {}

  private at(pos: number): string {
    return pos < this.src.length ? this.src[pos] : '\0';
  }
  private get c(): string {
    return this.at(this.pos);
  }
  private here(): Mark {
    return { ...this.mark, pos: this.pos };
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
    const three = this.src.slice(this.pos, this.pos + 3);
    if (this.mark.column === 0 && (three === '---' || three === '...') && isBlankZ(this.at(this.pos + 3))) {
      return this.fetchDocumentIndicator(three === '---' ? 'DOCUMENT_START' : 'DOCUMENT_END');
    }
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
    const file = (kind: 'foot', peek: number) => {
      this.comments.push({ scanMark, tokenMark, startMark, endMark: markAt(peek), head: '', line: '', foot: text });
      scanMark = markAt(peek);
      tokenMark = scanMark;
      text = '';
      return kind;
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
              file('foot', peek);
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
      if (text && column - 1 < nextIndent && column !== startMark.column) {
        file('foot', peek);
      }
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
      const three = this.src.slice(this.pos, this.pos + 3);
      if (this.mark.column === 0 && (three === '---' || three === '...') && isBlankZ(this.at(this.pos + 3))) {
        this.fail('while scanning a quoted scalar: found unexpected document indicator');
      }
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
      const three = this.src.slice(this.pos, this.pos + 3);
      if (this.mark.column === 0 && (three === '---' || three === '...') && isBlankZ(this.at(this.pos + 3))) break;
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
    let start = token.start;
    let anchor: string | undefined;
    let tagged = false;
    const properties = () => {
      if (token.type === 'ANCHOR') {
        anchor = token.value;
        this.skip();
        token = this.peek();
        return true;
      }
      if (token.type === 'TAG') {
        tagged = true;
        this.skip();
        token = this.peek();
        return true;
      }
      return false;
    };
    if (properties()) {
      start = this.tokens[this.head - 1].start;
      if (token.type !== (anchor === undefined ? 'TAG' : 'ANCHOR')) properties();
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

  private blockSequenceEntry(first: boolean): Event {
    if (first) {
      this.peek();
      this.skip();
    }
    let token = this.peek();
    if (token.type === 'BLOCK_ENTRY') {
      const priorHead = this.headComment.length;
      this.skip();
      this.splitStemComment(priorHead);
      token = this.peek();
      if (token.type !== 'BLOCK_ENTRY' && token.type !== 'BLOCK_END') {
        this.states.push('BLOCK_SEQUENCE_ENTRY');
        return this.node(true, false);
      }
      this.state = 'BLOCK_SEQUENCE_ENTRY';
      return this.empty(token.start);
    }
    if (token.type === 'BLOCK_END') {
      this.state = this.pop();
      this.skip();
      return this.event('SEQUENCE_END', token.start);
    }
    this.fail("did not find expected '-' indicator", token);
  }

  private indentlessSequenceEntry(): Event {
    let token = this.peek();
    if (token.type === 'BLOCK_ENTRY') {
      const priorHead = this.headComment.length;
      this.skip();
      this.splitStemComment(priorHead);
      token = this.peek();
      if (!['BLOCK_ENTRY', 'KEY', 'VALUE', 'BLOCK_END'].includes(token.type)) {
        this.states.push('INDENTLESS_SEQUENCE_ENTRY');
        return this.node(true, false);
      }
      this.state = 'INDENTLESS_SEQUENCE_ENTRY';
      return this.empty(token.start);
    }
    this.state = this.pop();
    return this.event('SEQUENCE_END', token.start);
  }

  private blockMappingKey(first: boolean): Event {
    if (first) {
      this.peek();
      this.skip();
    }
    let token = this.peek();
    if (token.type === 'KEY') {
      this.skip();
      token = this.peek();
      if (!['KEY', 'VALUE', 'BLOCK_END'].includes(token.type)) {
        this.states.push('BLOCK_MAPPING_VALUE');
        return this.node(true, true);
      }
      this.state = 'BLOCK_MAPPING_VALUE';
      return this.empty(token.start);
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
    let token = this.peek();
    if (token.type === 'VALUE') {
      this.skip();
      token = this.peek();
      if (!['KEY', 'VALUE', 'BLOCK_END'].includes(token.type)) {
        this.states.push('BLOCK_MAPPING_KEY');
        return this.node(true, true);
      }
      this.state = 'BLOCK_MAPPING_KEY';
      return this.empty(token.start);
    }
    this.state = 'BLOCK_MAPPING_KEY';
    return this.empty(token.start);
  }

  private flowSequenceEntry(first: boolean): Event {
    if (first) {
      this.peek();
      this.skip();
    }
    let token = this.peek();
    if (token.type !== 'FLOW_SEQUENCE_END') {
      if (!first) {
        if (token.type !== 'FLOW_ENTRY') this.fail("did not find expected ',' or ']'", token);
        this.skip();
        token = this.peek();
      }
      if (token.type === 'KEY') this.fail('a mapping inside a flow sequence ([a: b]) is not supported', token);
      if (token.type !== 'FLOW_SEQUENCE_END') {
        this.states.push('FLOW_SEQUENCE_ENTRY');
        return this.node(false, false);
      }
    }
    this.state = this.pop();
    const event = this.event('SEQUENCE_END', token.start, {}, true);
    this.skip();
    return event;
  }

  private flowMappingKey(first: boolean): Event {
    if (first) {
      this.peek();
      this.skip();
    }
    let token = this.peek();
    if (token.type !== 'FLOW_MAPPING_END') {
      if (!first) {
        if (token.type !== 'FLOW_ENTRY') this.fail("did not find expected ',' or '}'", token);
        this.skip();
        token = this.peek();
      }
      if (token.type === 'KEY') {
        this.skip();
        token = this.peek();
        if (!['VALUE', 'FLOW_ENTRY', 'FLOW_MAPPING_END'].includes(token.type)) {
          this.states.push('FLOW_MAPPING_VALUE');
          return this.node(false, false);
        }
        this.state = 'FLOW_MAPPING_VALUE';
        return this.empty(token.start);
      }
      if (token.type !== 'FLOW_MAPPING_END') {
        this.states.push('FLOW_MAPPING_EMPTY_VALUE');
        return this.node(false, false);
      }
    }
    this.state = this.pop();
    const event = this.event('MAPPING_END', token.start, {}, true);
    this.skip();
    return event;
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
}

class Builder {
  private i = 0;
  private readonly anchors = new Map<string, Building>();

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

const finish = (n: Building, lines: SourceComment[], done: Map<Building, V3Node>): V3Node => {
  const existing = done.get(n);
  if (existing) return existing;
  const text = (t: string): SourceComment[] =>
    t
      .split('\n')
      .filter(Boolean)
      .map((l) => lines[Number(l.slice(1))]);
  const out: V3Node = { kind: n.kind, flow: n.flow, offset: n.offset, line: n.line, head: text(n.head), lineComment: text(n.lineComment), foot: text(n.foot), content: [] };
  if (n.anchor !== undefined) out.anchor = n.anchor;
  if (n.alias !== undefined) out.alias = n.alias;
  if (n.end !== undefined) out.end = n.end;
  done.set(n, out);
  out.content = n.content.map((c) => finish(c, lines, done));
  return out;
};

/**
 * The documents of `src` as yaml.v3 reads them, with each node's head, line and foot comments. An alias node's
 * `alias` names its anchor; `anchors` gives the node each name stands for where the alias is read.
 */
export const readV3 = (src: string): { documents: V3Node[]; comments: SourceComment[]; aliasTargets: Map<V3Node, V3Node>; anchors: { start: number; end: number }[] } => {
  const bad = /[\0\u0085\u2028\u2029]|\r(?!\n)/.exec(src);
  if (bad) throw new V3Unsupported(`a ${JSON.stringify(bad[0])} character (line break or NUL) that yaml.v3 reads differently`, src.slice(0, bad.index).split('\n').length - 1);
  const scanner = new Scanner(src);
  const events = new Parser(scanner).events();
  const built = new Builder(events).documents();
  const done = new Map<Building, V3Node>();
  const documents = built.map((d) => finish(d, scanner.lines, done));
  const aliasTargets = new Map<V3Node, V3Node>();
  for (const [b, n] of done) if (b.target) aliasTargets.set(n, finish(b.target, scanner.lines, done));
  return { documents, comments: scanner.lines, aliasTargets, anchors: scanner.anchors };
};
