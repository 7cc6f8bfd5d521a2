export { launchChromium, CHROMIUM } from './browser';
