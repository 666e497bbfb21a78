import { SseParser, type SseEvent } from './sse';

describe('SseParser', () => {
  const parse = (chunks: string[]) => {
    const events: SseEvent[] = [];
    const parser = new SseParser((e) => events.push(e));
    for (const c of chunks) parser.push(c);
    return { events, parser };
  };

  it('parses events split anywhere across chunks, with LF, CRLF and CR line ends', () => {
    const text =
      'event: update\r\ndata: {"a":\r\ndata: 1}\r\nid: 7\r\n\r\n: heartbeat\n\ndata: two\rdata: lines\r\r';
    for (let size = 1; size <= text.length; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(parse(chunks).events).toEqual([
        { event: 'update', data: '{"a":\n1}', id: '7' },
        { event: 'message', data: 'two\nlines', id: '7' },
      ]);
    }
  });

  it('ignores comments and unknown fields, keeps retry, and drops an event without data', () => {
    const { events, parser } = parse([':ping\n\nevent: x\n\nretry: 1500\nfoo: bar\ndata\n\n']);
    expect(events).toEqual([{ event: 'message', data: '' }]);
    expect(parser.retryMs).toBe(1500);
  });
});
