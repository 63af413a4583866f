export { composeNotification, type Notification, type Outcome, type OutcomeFacts } from './message.js';
export { notifyOutcome, type NotifyOptions, type NotifyResult } from './notify.js';
