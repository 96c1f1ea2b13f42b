/** The `preview` email provider: renders emails to a folder instead of sending them. */
export {
  createPreviewProvider,
  writePreviewIndex,
  PREVIEW_PROVIDER_NAME,
  type PreviewProviderOptions,
  type PreviewIndexOptions,
} from './preview-provider';
export { renderEmail } from './render-email';
export { renderIndex, type IndexEntry } from './render-index';
export { toPreviewPayload, parsePreviewPayload, type PreviewPayload } from './payload';
export { INDEX_FILE_NAME, previewBaseName } from './files';
