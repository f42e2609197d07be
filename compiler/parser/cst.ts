// Generated from the grammar by compiler/parser/gen-cst.ts (chevrotain's generateCstDts): the
// CST node types the CST → AST pass reads (to-ast.ts and the readers it extends), so every child key it uses is checked by tsc.
// Regenerate after a grammar change: npx tsx compiler/parser/gen-cst.ts > compiler/parser/cst.ts

import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface DeclarationCstNode extends CstNode {
  name: "declaration";
  children: DeclarationCstChildren;
}

export type DeclarationCstChildren = {
  sourceDecl?: SourceDeclCstNode[];
  entityDecl?: EntityDeclCstNode[];
  fnDecl?: FnDeclCstNode[];
  externFnDecl?: ExternFnDeclCstNode[];
  featureGroupDecl?: FeatureGroupDeclCstNode[];
  onDemandDecl?: OnDemandDeclCstNode[];
  viewDecl?: ViewDeclCstNode[];
  modelDecl?: ModelDeclCstNode[];
  serveDecl?: ServeDeclCstNode[];
  indexDecl?: IndexDeclCstNode[];
  agentDecl?: AgentDeclCstNode[];
  importDecl?: ImportDeclCstNode[];
};

export interface ImportDeclCstNode extends CstNode {
  name: "importDecl";
  children: ImportDeclCstChildren;
}

export type ImportDeclCstChildren = {
  Kw_import: IToken[];
  LCurly: IToken[];
  names: IToken[];
  Comma?: IToken[];
  RCurly: IToken[];
  Kw_from: IToken[];
  module: IToken[];
};

export interface SourceDeclCstNode extends CstNode {
  name: "sourceDecl";
  children: SourceDeclCstChildren;
}

export type SourceDeclCstChildren = {
  Kw_source: IToken[];
  name: IToken[];
  LCurly: IToken[];
  sourceItem?: SourceItemCstNode[];
  RCurly: IToken[];
};

export interface SourceItemCstNode extends CstNode {
  name: "sourceItem";
  children: SourceItemCstChildren;
}

export type SourceItemCstChildren = {
  Kw_path?: IToken[];
  StringLit?: IToken[];
  Kw_table?: IToken[];
  dottedName?: DottedNameCstNode[];
  Kw_format?: IToken[];
  Identifier?: (IToken)[];
  Kw_event_time?: IToken[];
  Kw_unique?: IToken[];
  uniqueList?: ColumnListCstNode[];
  clause?: IToken[];
  clauseValue?: IToken[];
  latenessClause?: IToken[];
  lateness?: ExpressionCstNode[];
  fieldsBlock?: FieldsBlockCstNode[];
};

export interface FieldsBlockCstNode extends CstNode {
  name: "fieldsBlock";
  children: FieldsBlockCstChildren;
}

export type FieldsBlockCstChildren = {
  Kw_fields: IToken[];
  LCurly: IToken[];
  fieldDecl?: FieldDeclCstNode[];
  RCurly: IToken[];
};

export interface FieldDeclCstNode extends CstNode {
  name: "fieldDecl";
  children: FieldDeclCstChildren;
}

export type FieldDeclCstChildren = {
  name: IToken[];
  Colon: IToken[];
  typeRef: TypeRefCstNode[];
  fieldConstraint?: FieldConstraintCstNode[];
};

export interface FieldConstraintCstNode extends CstNode {
  name: "fieldConstraint";
  children: FieldConstraintCstChildren;
}

export type FieldConstraintCstChildren = {
  Kw_in?: IToken[];
  parenList?: ParenListCstNode[];
  Kw_check?: IToken[];
  LParen?: IToken[];
  checkBody?: CheckBodyCstNode[];
  RParen?: IToken[];
  Kw_format?: IToken[];
  pattern?: IToken[];
  Kw_from?: IToken[];
  column?: IToken[];
};

export interface CheckBodyCstNode extends CstNode {
  name: "checkBody";
  children: CheckBodyCstChildren;
}

export type CheckBodyCstChildren = {
  op?: IToken[];
  binaryExpr?: BinaryExprCstNode[];
  expression?: ExpressionCstNode[];
};

export interface TypeRefCstNode extends CstNode {
  name: "typeRef";
  children: TypeRefCstChildren;
}

export type TypeRefCstChildren = {
  name: IToken[];
  LBracket?: IToken[];
  dim?: IToken[];
  RBracket?: IToken[];
  Question?: IToken[];
};

export interface DottedNameCstNode extends CstNode {
  name: "dottedName";
  children: DottedNameCstChildren;
}

export type DottedNameCstChildren = {
  part: (IToken)[];
  Dot?: IToken[];
};

export interface EntityDeclCstNode extends CstNode {
  name: "entityDecl";
  children: EntityDeclCstChildren;
}

export type EntityDeclCstChildren = {
  Kw_entity: IToken[];
  name: IToken[];
  LCurly: IToken[];
  keyClause?: KeyClauseCstNode[];
  RCurly: IToken[];
};

export interface KeyClauseCstNode extends CstNode {
  name: "keyClause";
  children: KeyClauseCstChildren;
}

export type KeyClauseCstChildren = {
  Kw_key: IToken[];
  param: (ParamCstNode)[];
  Comma?: IToken[];
};

export interface ParamCstNode extends CstNode {
  name: "param";
  children: ParamCstChildren;
}

export type ParamCstChildren = {
  name: IToken[];
  Colon: IToken[];
  typeRef: TypeRefCstNode[];
};

export interface ParamsCstNode extends CstNode {
  name: "params";
  children: ParamsCstChildren;
}

export type ParamsCstChildren = {
  LParen: IToken[];
  param?: (ParamCstNode)[];
  Comma?: IToken[];
  RParen: IToken[];
};

export interface FnDeclCstNode extends CstNode {
  name: "fnDecl";
  children: FnDeclCstChildren;
}

export type FnDeclCstChildren = {
  Kw_fn: IToken[];
  name: IToken[];
  params: ParamsCstNode[];
  Colon: IToken[];
  typeRef: TypeRefCstNode[];
  Equals: IToken[];
  expression: ExpressionCstNode[];
};

export interface ExternFnDeclCstNode extends CstNode {
  name: "externFnDecl";
  children: ExternFnDeclCstChildren;
}

export type ExternFnDeclCstChildren = {
  Kw_extern: IToken[];
  Kw_fn: IToken[];
  name: IToken[];
  params: ParamsCstNode[];
  Colon: IToken[];
  typeRef: TypeRefCstNode[];
  Kw_from: IToken[];
  StringLit: IToken[];
};

export interface FeatureGroupDeclCstNode extends CstNode {
  name: "featureGroupDecl";
  children: FeatureGroupDeclCstChildren;
}

export type FeatureGroupDeclCstChildren = {
  Kw_feature_group: IToken[];
  name: IToken[];
  Kw_version?: IToken[];
  version?: IToken[];
  Kw_for?: IToken[];
  entity?: IToken[];
  keyColumns?: ColumnListCstNode[];
  Kw_from: IToken[];
  from: IToken[];
  Kw_where?: IToken[];
  where?: ExpressionCstNode[];
  scheduleClause?: ScheduleClauseCstNode[];
  LCurly: IToken[];
  featureDef?: FeatureDefCstNode[];
  RCurly: IToken[];
};

export interface FeatureDefCstNode extends CstNode {
  name: "featureDef";
  children: FeatureDefCstChildren;
}

export type FeatureDefCstChildren = {
  name: IToken[];
  Equals: IToken[];
  expression: ExpressionCstNode[];
};

export interface OnDemandDeclCstNode extends CstNode {
  name: "onDemandDecl";
  children: OnDemandDeclCstChildren;
}

export type OnDemandDeclCstChildren = {
  Kw_on_demand: IToken[];
  name: IToken[];
  LParen: IToken[];
  odtParam?: (OdtParamCstNode)[];
  Comma?: IToken[];
  RParen: IToken[];
  Colon: IToken[];
  typeRef: TypeRefCstNode[];
  Equals: IToken[];
  expression: ExpressionCstNode[];
};

export interface OdtParamCstNode extends CstNode {
  name: "odtParam";
  children: OdtParamCstChildren;
}

export type OdtParamCstChildren = {
  Kw_request?: IToken[];
  param?: ParamCstNode[];
  group?: IToken[];
  Dot?: IToken[];
  feature?: IToken[];
};

export interface ColumnListCstNode extends CstNode {
  name: "columnList";
  children: ColumnListCstChildren;
}

export type ColumnListCstChildren = {
  LParen: IToken[];
  columns: (IToken)[];
  Comma?: IToken[];
  RParen: IToken[];
};

export interface ViewDeclCstNode extends CstNode {
  name: "viewDecl";
  children: ViewDeclCstChildren;
}

export type ViewDeclCstChildren = {
  Kw_view: IToken[];
  name: IToken[];
  Kw_for?: IToken[];
  entity?: IToken[];
  entityColumns?: ColumnListCstNode[];
  Kw_from?: IToken[];
  from?: IToken[];
  Kw_where?: IToken[];
  where?: ExpressionCstNode[];
  LCurly: IToken[];
  viewItem?: ViewItemCstNode[];
  RCurly: IToken[];
};

export interface ViewItemCstNode extends CstNode {
  name: "viewItem";
  children: ViewItemCstChildren;
}

export type ViewItemCstChildren = {
  Kw_label?: IToken[];
  name?: IToken[];
  Equals?: IToken[];
  label?: ExpressionCstNode[];
  Kw_features?: IToken[];
  featureRef?: (FeatureRefCstNode)[];
  Comma?: IToken[];
  Kw_by?: IToken[];
  by?: IToken[];
  byList?: ColumnListCstNode[];
  Kw_as?: IToken[];
  prefix?: IToken[];
  Kw_ttl?: IToken[];
  expression?: ExpressionCstNode[];
  Kw_as_of?: IToken[];
  asOf?: IToken[];
};

export interface FeatureRefCstNode extends CstNode {
  name: "featureRef";
  children: FeatureRefCstChildren;
}

export type FeatureRefCstChildren = {
  group: IToken[];
  Dot?: IToken[];
  Star?: IToken[];
  feature?: IToken[];
};

export interface ModelDeclCstNode extends CstNode {
  name: "modelDecl";
  children: ModelDeclCstChildren;
}

export type ModelDeclCstChildren = {
  Kw_model: IToken[];
  name: IToken[];
  LCurly: IToken[];
  modelItem?: ModelItemCstNode[];
  RCurly: IToken[];
};

export interface ModelItemCstNode extends CstNode {
  name: "modelItem";
  children: ModelItemCstChildren;
}

export type ModelItemCstChildren = {
  Kw_view?: IToken[];
  value?: (IToken)[];
  Kw_task?: IToken[];
  Kw_algorithm?: IToken[];
  file?: IToken[];
  argList?: (ArgListCstNode)[];
  Kw_transform?: IToken[];
  feature?: (IToken)[];
  Comma?: (IToken)[];
  Colon?: IToken[];
  mdtCall?: (MdtCallCstNode)[];
  Kw_split?: IToken[];
  Kw_metric?: IToken[];
  Kw_require?: IToken[];
  op?: (IToken)[];
  expression?: ExpressionCstNode[];
  Kw_retrain?: IToken[];
  LCurly?: IToken[];
  retrainItem?: RetrainItemCstNode[];
  RCurly?: IToken[];
};

export interface ScheduleClauseCstNode extends CstNode {
  name: "scheduleClause";
  children: ScheduleClauseCstChildren;
}

export type ScheduleClauseCstChildren = {
  Kw_schedule: IToken[];
  cron?: IToken[];
  every?: IToken[];
  expression?: ExpressionCstNode[];
};

export interface RetrainItemCstNode extends CstNode {
  name: "retrainItem";
  children: RetrainItemCstChildren;
}

export type RetrainItemCstChildren = {
  scheduleClause?: ScheduleClauseCstNode[];
  head?: IToken[];
  Kw_if?: IToken[];
  fn?: (IToken)[];
  LParen?: (IToken)[];
  measure?: (IToken)[];
  RParen?: (IToken)[];
  op?: (IToken)[];
  expression?: ExpressionCstNode[];
};

export interface MdtCallCstNode extends CstNode {
  name: "mdtCall";
  children: MdtCallCstChildren;
}

export type MdtCallCstChildren = {
  name: IToken[];
  argList?: ArgListCstNode[];
};

export interface ArgListCstNode extends CstNode {
  name: "argList";
  children: ArgListCstChildren;
}

export type ArgListCstChildren = {
  LParen: IToken[];
  arg?: (ArgCstNode)[];
  Comma?: IToken[];
  RParen: IToken[];
};

export interface ArgCstNode extends CstNode {
  name: "arg";
  children: ArgCstChildren;
}

export type ArgCstChildren = {
  name?: IToken[];
  Colon?: IToken[];
  expression: ExpressionCstNode[];
};

export interface IndexDeclCstNode extends CstNode {
  name: "indexDecl";
  children: IndexDeclCstChildren;
}

export type IndexDeclCstChildren = {
  Kw_index: IToken[];
  name: IToken[];
  on: IToken[];
  group: IToken[];
  LParen: IToken[];
  column: IToken[];
  RParen: IToken[];
  Kw_for?: IToken[];
  entity?: IToken[];
};

export interface AgentDeclCstNode extends CstNode {
  name: "agentDecl";
  children: AgentDeclCstChildren;
}

export type AgentDeclCstChildren = {
  Kw_agent: IToken[];
  name: IToken[];
  Kw_for: IToken[];
  entity: IToken[];
  LCurly: IToken[];
  agentItem?: AgentItemCstNode[];
  RCurly: IToken[];
};

export interface AgentItemCstNode extends CstNode {
  name: "agentItem";
  children: AgentItemCstChildren;
}

export type AgentItemCstChildren = {
  Kw_llm?: IToken[];
  model?: IToken[];
  Kw_context?: IToken[];
  featureRef?: (FeatureRefCstNode)[];
  Comma?: (IToken)[];
  Kw_retrieve?: IToken[];
  index?: IToken[];
  top?: IToken[];
  k?: IToken[];
  Kw_tool?: IToken[];
  tool?: (IToken)[];
  Kw_prompt?: IToken[];
  text?: IToken[];
};

export interface ServeDeclCstNode extends CstNode {
  name: "serveDecl";
  children: ServeDeclCstChildren;
}

export type ServeDeclCstChildren = {
  Kw_serve: IToken[];
  name: IToken[];
  LCurly: IToken[];
  serveItem?: ServeItemCstNode[];
  RCurly: IToken[];
};

export interface ServeItemCstNode extends CstNode {
  name: "serveItem";
  children: ServeItemCstChildren;
}

export type ServeItemCstChildren = {
  Kw_online?: IToken[];
  Kw_batch?: IToken[];
  Kw_into?: IToken[];
  dottedName?: DottedNameCstNode[];
};

export interface ExpressionCstNode extends CstNode {
  name: "expression";
  children: ExpressionCstChildren;
}

export type ExpressionCstChildren = {
  ifExpr?: IfExprCstNode[];
  binaryExpr?: BinaryExprCstNode[];
};

export interface IfExprCstNode extends CstNode {
  name: "ifExpr";
  children: IfExprCstChildren;
}

export type IfExprCstChildren = {
  Kw_if: IToken[];
  cond: ExpressionCstNode[];
  Kw_then: IToken[];
  then: ExpressionCstNode[];
  Kw_else: IToken[];
  else: ExpressionCstNode[];
};

export interface BinaryExprCstNode extends CstNode {
  name: "binaryExpr";
  children: BinaryExprCstChildren;
}

export type BinaryExprCstChildren = {
  operands: (OperandCstNode | ParenListCstNode)[];
  ops?: (IToken)[];
};

export interface OperandCstNode extends CstNode {
  name: "operand";
  children: OperandCstChildren;
}

export type OperandCstChildren = {
  prefix?: (IToken)[];
  primary: PrimaryCstNode[];
};

export interface PrimaryCstNode extends CstNode {
  name: "primary";
  children: PrimaryCstChildren;
}

export type PrimaryCstChildren = {
  literal?: IToken[];
  nameExpr?: NameExprCstNode[];
  LParen?: IToken[];
  expression?: ExpressionCstNode[];
  RParen?: IToken[];
  listExpr?: ListExprCstNode[];
};

export interface NameExprCstNode extends CstNode {
  name: "nameExpr";
  children: NameExprCstChildren;
}

export type NameExprCstChildren = {
  name: IToken[];
  Dot?: IToken[];
  property?: IToken[];
  args?: ParenListCstNode[];
  Kw_over?: IToken[];
  next?: IToken[];
  over?: PrimaryCstNode[];
};

export interface ListExprCstNode extends CstNode {
  name: "listExpr";
  children: ListExprCstChildren;
}

export type ListExprCstChildren = {
  LBracket: IToken[];
  items?: (ExpressionCstNode)[];
  Comma?: IToken[];
  RBracket: IToken[];
};

export interface ParenListCstNode extends CstNode {
  name: "parenList";
  children: ParenListCstChildren;
}

export type ParenListCstChildren = {
  LParen: IToken[];
  items?: (ExpressionCstNode)[];
  Comma?: IToken[];
  RParen: IToken[];
};
