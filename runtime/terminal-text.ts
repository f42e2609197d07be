// Text that came from data or from requests, as a line on the user's terminal
// shows it. A CSV value or a request's entity key holding ESC sequences was
// printed as it is by `fti features` (a quarantined row's example), `fti models
// show` (a category's value) and `fti verify` (an entity's keys): a file or a
// remote client could retitle the window, clear the screen or rewrite what
// was printed before. Control characters (C0, DEL, C1) and the bidirectional
// controls are shown as escapes instead.

const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character as `\xNN` (bidirectional controls as `\u{NNNN}`). */
export function terminalText(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
  });
}
