import { printParseErrorCode, visit } from "jsonc-parser";

/**
 * Where and why a JSON text is invalid, for an operator. The scanning is jsonc-parser's (the
 * parser behind VS Code's JSON support) in strict mode: no comments, no trailing commas. JSON.parse's
 * own messages differ between Node versions, sometimes carry no position and sometimes quote the
 * text; here the position is stable and the reason is worded as a fix, never echoing the content.
 */
export interface JsonProblem {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units like an editor's column. */
  column: number;
  reason: string;
}

interface FirstError {
  /** jsonc-parser's ParseErrorCode by name (the enum is a const enum, which isolatedModules cannot read). */
  code: ReturnType<typeof printParseErrorCode>;
  offset: number;
  length: number;
  /** "object" or "list" the error sits in, when any. */
  inside: "object" | "list" | undefined;
}

/** Returns the first syntax problem, or undefined when the text is valid (strict) JSON. */
export function locateJsonProblem(text: string): JsonProblem | undefined {
  const first = firstError(text);
  if (!first) return undefined;
  const { offset, reason } = describe(text, first);
  return { ...lineColumn(text, offset), reason };
}

function firstError(text: string): FirstError | undefined {
  let first: FirstError | undefined;
  const open: Array<"object" | "list"> = [];
  visit(
    text,
    {
      onObjectBegin: () => void open.push("object"),
      onObjectEnd: () => void open.pop(),
      onArrayBegin: () => void open.push("list"),
      onArrayEnd: () => void open.pop(),
      onError: (code, offset, length) => {
        first ??= { code: printParseErrorCode(code), offset, length, inside: open.at(-1) };
      },
    },
    { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
  );
  return first;
}

const NUMBER = "invalid number — write digits like 30 or 0.2 (no leading zeros, + sign or leading dot)";

function describe(text: string, e: FirstError): { offset: number; reason: string } {
  const at = (offset: number, reason: string) => ({ offset, reason });
  const c = text[e.offset];
  const containerWord = e.inside === "list" ? "a list" : e.inside === "object" ? "an object" : "a value";
  if (e.offset >= text.length) return at(text.length, `the text ends inside ${containerWord} — add the missing closing bracket, brace or quote`);
  switch (e.code) {
    case "InvalidCommentToken":
    case "UnexpectedEndOfComment":
      return at(e.offset, "a comment — JSON allows no comments; remove it");
    case "UnexpectedEndOfString": {
      // The scanner stops a string at a line break (or at the end of the text).
      const end = e.offset + e.length;
      if (end >= text.length) return at(text.length, "the text ends inside a text in quotes — add the missing closing bracket, brace or quote");
      return at(end, "a line break or control character inside quotes — close the quote, or write \\n");
    }
    case "InvalidCharacter":
      return at(
        firstIndex(text, e, (ch) => ch < " "),
        "a line break or control character inside quotes — close the quote, or write \\n",
      );
    case "InvalidEscapeCharacter": {
      const i = firstIndex(text, e, (ch, j) => ch === "\\" && !'"\\/bfnrtu'.includes(text[j + 1] ?? ""));
      return at(i, `invalid escape \\${text[i + 1] ?? ""} — write \\\\ for a backslash`);
    }
    case "InvalidUnicode":
      return at(
        firstIndex(text, e, (ch, j) => ch === "\\" && text[j + 1] === "u"),
        "\\u must be followed by 4 hex digits — fix the escape, e.g. \\u00e9",
      );
    case "UnexpectedEndOfNumber":
    case "InvalidNumberFormat":
      return at(e.offset, NUMBER);
    case "ColonExpected":
      return at(e.offset, 'missing : after the property name — write "name": value');
    case "EndOfFileExpected":
      return at(e.offset, "extra text after the end of the JSON document — remove it, or wrap everything in one { … }");
    case "CommaExpected":
      // jsonc-parser reads 01 as the number 0 followed by 1.
      if (/[0-9.eE]/.test(c ?? "") && /[0-9]/.test(text[e.offset - 1] ?? "")) return at(e.offset, NUMBER);
      return e.inside === "list"
        ? at(e.offset, "missing , or ] after a list item — add the comma between the two items")
        : at(e.offset, "missing , or } after a value — add the comma between the two properties");
    case "PropertyNameExpected":
    case "ValueExpected":
      if ((c === "}" || c === "]") && previousNonSpace(text, e.offset) === ",") {
        return at(e.offset, `a trailing comma before ${c} — remove the last comma`);
      }
      return at(e.offset, unexpected(c, e.code === "PropertyNameExpected" ? "a property name in double quotes" : "a value"));
    default:
      // InvalidSymbol and the close-brace/bracket codes before the end of the text.
      return at(e.offset, unexpected(c, e.inside === "object" && e.code === "InvalidSymbol" ? "a value or property name" : "a value"));
  }
}

function unexpected(c: string | undefined, expected: string): string {
  if (c === "'") return `single quote where ${expected} was expected — JSON needs double quotes; replace ' with "`;
  if (c === "/" || c === "#") return `a comment where ${expected} was expected — JSON allows no comments; remove it`;
  if (c !== undefined && /[A-Za-z_]/.test(c))
    return `a bare word where ${expected} was expected — put text in double quotes; literals are true, false and null`;
  if (c !== undefined && /[-+.0-9]/.test(c)) return NUMBER;
  return `unexpected character where ${expected} was expected — remove it or fix the typo`;
}

function firstIndex(text: string, e: FirstError, test: (ch: string, i: number) => boolean): number {
  for (let i = e.offset; i < e.offset + e.length && i < text.length; i++) if (test(text[i]!, i)) return i;
  return e.offset;
}

function previousNonSpace(text: string, offset: number): string | undefined {
  for (let i = offset - 1; i >= 0; i--) if (!" \t\r\n".includes(text[i]!)) return text[i];
  return undefined;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
