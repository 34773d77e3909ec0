/**
 * Downloads an image for the host's image store to a temporary file beside its final name,
 * hashing while it streams. The caller verifies the format and renames it into place; this
 * module only guarantees that what it returns has the expected SHA-256 and at most `maxBytes`.
 *
 * Must never: leave a partial or mismatching file behind (it removes its temp file on every
 * failure); follow a redirect (the control plane names the source; a redirect to somewhere else
 * is refused, not followed); write anywhere but `dir`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { AppError, ErrorCode } from '@palisade/contracts';

export interface FetchImageOptions {
  url: string;
  dir: string;
  checksum: string;
  maxBytes: number;
  /** No byte for this long: the source is given up on (a retry starts over). */
  idleTimeoutMs?: number;
}

/** Returns the temp file's path; its content has `checksum`. */
export async function fetchImage(o: FetchImageOptions): Promise<string> {
  const tmp = path.join(o.dir, `.fetch-${o.checksum}-${randomBytes(6).toString('hex')}.part`);
  const url = new URL(o.url);
  // Only the origin goes into errors: a URL's query may carry a pre-signed credential.
  const where = url.origin + url.pathname;
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        timeout: o.idleTimeoutMs ?? 60_000,
      });
      req.on('response', resolve);
      req.on('timeout', () => req.destroy(new Error('no answer in time')));
      req.on('error', reject);
      req.end();
    }).catch((e: unknown) => {
      throw new AppError(
        ErrorCode.AGENT_HOST_FAILED,
        `fetching ${where}: ${(e as Error).message}`,
        { cause: e, details: { field: 'sourceUrl' } },
      );
    });
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      res.resume();
      // A 5xx may pass; anything else (404, a redirect) will not by retrying.
      throw new AppError(
        status >= 500 ? ErrorCode.AGENT_HOST_FAILED : ErrorCode.AGENT_IMAGE_MISSING,
        `fetching ${where}: HTTP ${status}`,
        {
          userMessage: `sourceUrl: the image source answered HTTP ${status}.`,
          details: { field: 'sourceUrl', status },
        },
      );
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (declared > o.maxBytes) {
      res.destroy();
      throw tooLarge(o.maxBytes);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > o.maxBytes) return cb(tooLarge(o.maxBytes));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    res.setTimeout(o.idleTimeoutMs ?? 60_000, () =>
      res.destroy(new Error('the source stopped sending')),
    );
    await pipeline(res, meter, createWriteStream(tmp, { mode: 0o644, flags: 'wx' })).catch(
      (e: unknown) => {
        if (e instanceof AppError) throw e;
        throw new AppError(
          ErrorCode.AGENT_HOST_FAILED,
          `fetching ${where}: ${(e as Error).message}`,
          { cause: e, details: { field: 'sourceUrl' } },
        );
      },
    );
    const actual = hash.digest('hex');
    if (actual !== o.checksum)
      throw new AppError(ErrorCode.AGENT_IMAGE_INVALID, `checksum mismatch for ${where}`, {
        userMessage: 'The downloaded image does not match its checksum.',
        details: { field: 'checksum', expected: o.checksum, actual },
      });
    return tmp;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function tooLarge(maxBytes: number): AppError {
  return new AppError(ErrorCode.AGENT_IMAGE_INVALID, `image larger than ${maxBytes} bytes`, {
    userMessage: `sourceUrl: the image is larger than this host accepts (${maxBytes} bytes).`,
    details: { field: 'sourceUrl', maxBytes },
  });
}
