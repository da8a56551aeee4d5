/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-snippet.h: the line a search result shows, cut around what was
 * searched for. One function for the window's results (which bold the
 * match with markup) and the Shell's (which show plain text). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Characters kept before the match, and the snippet's length in characters
 * without its ellipses (longer only when the match itself is). */
#define RILL_SNIPPET_LEAD   30
#define RILL_SNIPPET_LENGTH 120

/* The words of @markdown on one line (no Markdown, each run of white space
 * one space), cut around the first match of @query with "…" where cut.
 *
 * @query is split on white space as the store splits it: the whole query
 * is looked for first, else the earliest of its words. Matching ignores
 * case in any script and sees "ß" and "ss" alike; it never splits a
 * character, nor a character from its combining marks.
 *
 * @match_start and @match_end (either may be NULL) receive the match's
 * byte range in the returned text; when nothing matched (or @query has no
 * words) both are 0 and the snippet is the start of the message. */
char *rill_snippet_make (const char *markdown,
                         const char *query,
                         gsize      *match_start,
                         gsize      *match_end);

G_END_DECLS
