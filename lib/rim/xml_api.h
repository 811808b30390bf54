/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libxml2, loaded on first use (core/dynlib.h) by the one layer that parses
 * XML: linking it made every command pay for libxml2 and what it pulls in
 * (ICU, libstdc++: about 3.4 ms per process here) though only RIM parsing
 * needs it. The functions are typed from libxml2's own headers (__typeof__:
 * no hand-written prototypes, no link-time reference). The thread-local error
 * handler slots are reached through libxml2's accessor functions, which its
 * macros (xmlStructuredError, ...) call; xmlFree is a variable in libxml2,
 * so it is read from its address.
 */
#ifndef DGA_RIM_XML_API_H
#define DGA_RIM_XML_API_H

#include <libxml/c14n.h>
#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "dga/error.h"

#define DGA_LIBXML2_FILE "libxml2.so.2"
#define DGA_LIBXML2_TEST_ENV "DGA_TEST_LIBXML2" /* tests only: replaces the file name */

/* X(member, libxml2 function) */
#define XML_API_FUNCTIONS(X)                                                                       \
    X(init_parser, xmlInitParser)                                                                  \
    X(set_structured_error_func, xmlSetStructuredErrorFunc)                                        \
    X(set_generic_error_func, xmlSetGenericErrorFunc)                                              \
    X(structured_error_slot, __xmlStructuredError)                                                 \
    X(structured_error_context_slot, __xmlStructuredErrorContext)                                  \
    X(generic_error_slot, __xmlGenericError)                                                       \
    X(generic_error_context_slot, __xmlGenericErrorContext)                                        \
    X(detect_char_encoding, xmlDetectCharEncoding)                                                 \
    X(new_parser_ctxt, xmlNewParserCtxt)                                                           \
    X(ctxt_read_memory, xmlCtxtReadMemory)                                                         \
    X(stop_parser, xmlStopParser)                                                                  \
    X(free_parser_ctxt, xmlFreeParserCtxt)                                                         \
    X(free_doc, xmlFreeDoc)                                                                        \
    X(doc_get_root_element, xmlDocGetRootElement)                                                  \
    X(get_line_no, xmlGetLineNo)                                                                   \
    X(get_ns_prop, xmlGetNsProp)                                                                   \
    X(get_no_ns_prop, xmlGetNoNsProp)                                                              \
    X(has_ns_prop, xmlHasNsProp)                                                                   \
    X(output_buffer_create_io, xmlOutputBufferCreateIO)                                            \
    X(output_buffer_close, xmlOutputBufferClose)                                                   \
    X(c14n_execute, xmlC14NExecute)

struct xml_api {
#define XML_API_FIELD(member, fn) __typeof__(fn) *member;
    XML_API_FUNCTIONS(XML_API_FIELD)
#undef XML_API_FIELD
    xmlFreeFunc free; /* the value of libxml2's xmlFree variable */
};

/*
 * Loads libxml2 once per process (thread-safe) and runs xmlInitParser. *ret:
 * the functions, valid for the process's life (ret may be NULL).
 * DGA_E_RUNTIME_LIBRARY (diag->field names the file and what failed) when it
 * cannot be loaded or lacks a function.
 */
dga_err xml_api_load(const struct xml_api **ret, struct dga_diag *diag);

/*
 * The loaded functions, for code that only runs on a document parsed after a
 * successful xml_api_load (so never NULL there).
 */
extern const struct xml_api *rim_xml_api;

#endif
