/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-secret-keyring.h: RillKeyring over the desktop keyring (libsecret). */
#pragma once

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_SECRET_KEYRING (rill_secret_keyring_get_type ())
G_DECLARE_FINAL_TYPE (RillSecretKeyring, rill_secret_keyring, RILL, SECRET_KEYRING, GObject)

RillKeyring *rill_secret_keyring_new (void);

G_END_DECLS
