import QRCode from 'qrcode';

/**
 * QR codes of share links, for phones and printed invitation cards (spec 004: invitations without
 * email). Error correction level M survives a smudged or creased card (15% of the modules) while
 * keeping a ~90-character link at a size a phone reads from a hand's length; the quiet zone of four
 * modules is the one the QR standard asks for, so printers may crop right to the image.
 */
const OPTIONS = { errorCorrectionLevel: 'M', margin: 4 } as const;

/** A PNG wide enough to print at 3 cm and still scan (about 300 dpi). */
const PNG_WIDTH = 360;

export type QrFormat = 'svg' | 'png';

export const QR_CONTENT_TYPES: Readonly<Record<QrFormat, string>> = { svg: 'image/svg+xml', png: 'image/png' };

/** The SVG document of a QR code (text, scales to any size). */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { ...OPTIONS, type: 'svg' });
}

/** The PNG image of a QR code. */
export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { ...OPTIONS, type: 'png', width: PNG_WIDTH });
}

/** A PNG as a data URL, ready for an `<img src>`. */
export async function qrPngDataUrl(text: string): Promise<string> {
  return `data:image/png;base64,${(await qrPng(text)).toString('base64')}`;
}
