/**
 * The two viewports the shipped appSettings.json configures (phone up to 599 px at 300x300, wider
 * screens at 600x600, the wider one for the `<img>` fallback), as `Section__Property` variables:
 * what the local run, the benchmark and the tests configure when they build settings in code.
 */
export const STANDARD_VIEW_PORTS_ENV: Readonly<Record<string, string>> = {
  MediaOptions__ImageViewPorts__0__viewport: '(max-width: 599px)',
  MediaOptions__ImageViewPorts__0__imageWidth: '300',
  MediaOptions__ImageViewPorts__0__imageHeight: '300',
  MediaOptions__ImageViewPorts__0__useForDefaultImageTag: 'false',
  MediaOptions__ImageViewPorts__1__viewport: '(min-width: 600px)',
  MediaOptions__ImageViewPorts__1__imageWidth: '600',
  MediaOptions__ImageViewPorts__1__imageHeight: '600',
  MediaOptions__ImageViewPorts__1__useForDefaultImageTag: 'true',
};
