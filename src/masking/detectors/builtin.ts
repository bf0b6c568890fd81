// The validated detectors every deployment has, by name.
import type { Detector } from "../detector.ts";
import { cardDetector } from "./card.ts";
import { emailDetector } from "./email.ts";
import { ibanDetector } from "./iban.ts";
import { phoneDetector } from "./phone.ts";
import { ssnDetector } from "./ssn.ts";

export const builtinDetectors: readonly Detector[] = [
  cardDetector,
  ssnDetector,
  ibanDetector,
  emailDetector,
  phoneDetector,
];
