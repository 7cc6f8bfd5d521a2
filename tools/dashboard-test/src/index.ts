export { launchChromium, chooseChromium, SYSTEM_CHROMIUM, BUNDLED, type ChromiumChoice } from './browser';
