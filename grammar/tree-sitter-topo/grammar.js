/**
 * @file Tree-sitter grammar for topo, the language of WSO2 API Manager
 * deployment topologies (compiled by topoc).
 *
 * It follows grammar/topo.ebnf, the normative grammar, with one difference:
 * tree-sitter does not see line breaks, so it accepts a value on the line
 * after its `=`, which topoc reports as an error. Which block kinds and
 * attributes exist is the schema's business, not the syntax's: any name
 * is a block kind here, as in topo.ebnf.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const NUMBER = /\d+(\.\d+)?/;

module.exports = grammar({
  name: 'topo',

  extras: $ => [/\s/, $.comment],

  word: $ => $.identifier,

  rules: {
    source_file: $ => repeat(choice($.import, $.block)),

    import: $ => seq('import', field('path', $.string)),

    block: $ => seq(
      field('kind', $.identifier),
      field('name', $.identifier),
      '{',
      repeat(choice($.attribute, $.block)),
      '}',
    ),

    attribute: $ => seq(
      field('key', $.identifier),
      '=',
      field('value', $._value),
    ),

    _value: $ => choice(
      $.string,
      $.quantity,
      $.number,
      $.call,
      $.identifier,
      $.list,
    ),

    list: $ => seq('[', optional(commaSeparated($._value)), ']'),

    // `secret("apim-db-password")`: the only function.
    call: $ => seq(
      field('function', $.identifier),
      '(',
      optional(commaSeparated($._value)),
      ')',
    ),

    identifier: _ => /[a-z_][a-z0-9_-]*/,

    number: _ => NUMBER,

    // A number glued to its unit: `1200rps`, `75%`, `3h`, `512MiB`.
    quantity: _ => token(seq(
      NUMBER,
      choice('%', 'rps', 'ms', 'min', 's', 'h', 'd', 'KiB', 'MiB', 'GiB'),
    )),

    string: $ => seq(
      '"',
      repeat(choice($.escape_sequence, $._string_content)),
      token.immediate('"'),
    ),

    _string_content: _ => token.immediate(prec(1, /[^"\\\n]+/)),

    escape_sequence: _ => token.immediate(seq(
      '\\',
      choice(/["\\nrt]/, /u\{[0-9a-fA-F]{1,6}\}/),
    )),

    comment: _ => token(seq('#', /.*/)),
  },
});

/**
 * One or more rules separated by commas, with an optional trailing comma.
 *
 * @param {RuleOrLiteral} rule
 * @returns {SeqRule}
 */
function commaSeparated(rule) {
  return seq(rule, repeat(seq(',', rule)), optional(','));
}
