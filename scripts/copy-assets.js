#!/usr/bin/env node
// Copies what the build needs besides compiled TypeScript: the admin page's files.
'use strict';
const { cpSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
cpSync(join(root, 'libs', 'management', 'ui'), join(root, 'dist', 'libs', 'management', 'ui'), { recursive: true });
