// SPDX-License-Identifier: LGPL-2.1-or-later
// What libpvshm exports: it builds with hidden visibility, and only what PVSHM_EXPORT marks in
// these headers is its public API (its ABI). Everything in lib/src stays inside the library.
#pragma once

#define PVSHM_EXPORT __attribute__((visibility("default")))
// For the private members of an exported class that only the library calls.
#define PVSHM_LOCAL __attribute__((visibility("hidden")))
