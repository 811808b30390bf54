/* SPDX-License-Identifier: Apache-2.0 */
/* The library's cleanup helpers are the public ones (dga/cleanup.h). */
#ifndef DGA_CORE_CLEANUP_H
#define DGA_CORE_CLEANUP_H

#include "dga/cleanup.h"

#endif
