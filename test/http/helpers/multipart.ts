// multipart/form-data bodies for app.inject and raw sockets: from a FormData (the way browsers and
// fetch build them), or by hand, byte for byte, for the malformed and hostile ones.
export interface Body {
  payload: Buffer;
  contentType: string;
}

export type FormValue = string | { data: Buffer; filename: string; type?: string };

/** The bytes and content type fetch would send for these fields (values in order, repeats allowed). */
export async function form(fields: Array<[string, FormValue]>): Promise<Body> {
  const data = new FormData();
  for (const [name, value] of fields) {
    if (typeof value === 'string') data.append(name, value);
    else data.append(name, new Blob([value.data], { type: value.type ?? 'application/octet-stream' }), value.filename);
  }
  const response = new Response(data);
  return { payload: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type') ?? '' };
}

export interface RawPart {
  name: string;
  /** Written into the part header as is: no escaping, so it can carry anything. */
  filename?: string;
  type?: string;
  data: Buffer | string;
}

export const BOUNDARY = 'talk2meTestBoundary7MA4YWxkTrZu0gW';

/** A multipart body assembled by hand: the filename bytes go out exactly as given. */
export function rawForm(parts: RawPart[], boundary = BOUNDARY): Body {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const type = part.type ?? (part.filename === undefined ? undefined : 'application/octet-stream');
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`, 'latin1'));
    chunks.push(typeof part.data === 'string' ? Buffer.from(part.data) : part.data);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
